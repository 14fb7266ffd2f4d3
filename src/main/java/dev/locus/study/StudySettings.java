package dev.locus.study;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Everything a worker needs to set up its model and its grid; all of it comes from configuration.
 *
 * @param modelDir      Hugging Face GPT-2 directory, or null for the shipped testbed model
 * @param modelName     name results are tagged with (null: "testbed" or the directory's name)
 * @param device        cpu, gpu or gpu:N (DJL device names)
 * @param layers        layers to edit, or null for every layer
 * @param noiseSigma    tracing noise σ, or NaN to estimate it (3 × embedding std of subjects)
 * @param noiseSubjects facts file whose first 200 subjects estimate σ for a model other than the testbed
 * @param corpus        text file (one passage per line) for ROME/MEMIT key statistics of a model other than the testbed
 * @param cacheDir      where key statistics are cached
 */
public record StudySettings(Path modelDir, String modelName, String device, List<String> methods, List<String> problems, int[] layers,
                             int samples, long seed, Map<String, Integer> windows, double noiseSigma, Path noiseSubjects,
                             double minPClean, String editingConfig, Path corpus, Path cacheDir) {}
