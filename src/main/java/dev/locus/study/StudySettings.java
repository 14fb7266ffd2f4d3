package dev.locus.study;

import dev.locus.editing.Essence;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Everything a worker needs to set up its model and its grid, grouped as the configuration is
 * ({@code locus.model}, {@code locus.grid}, {@code locus.tracing}, {@code locus.editing}).
 */
public record StudySettings(Model model, Edits edits, Tracing tracing, Editing editing) {

    public StudySettings {
        if (model == null || edits == null || tracing == null || editing == null) {
            throw new IllegalArgumentException("study settings need the model, the edits, tracing and editing settings");
        }
    }

    public StudySettings withEdits(Edits newEdits) {
        return new StudySettings(model, newEdits, tracing, editing);
    }

    public StudySettings withModel(Model newModel) {
        return new StudySettings(newModel, edits, tracing, editing);
    }

    /**
     * @param dir    Hugging Face checkpoint directory or a shipped testbed's name ({@code ModelSource.of}); null: testbed
     * @param name    name results are tagged with (null: the testbed's or the directory's name)
     * @param version version results are tagged with (null: the fingerprint of the weights)
     * @param device  cpu, gpu or gpu:N (DJL device names)
     */
    public record Model(Path dir, String name, String version, String device) {
        /** What a version may look like (common.schema.json#/$defs/model_version): it becomes a metric label and a Kafka key. */
        public static final java.util.regex.Pattern VERSION = java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9._+-]{0,99}");

        public Model {
            if (version != null && !VERSION.matcher(version).matches()) {
                throw new IllegalArgumentException("model version '" + version + "' must be 1-100 letters, digits, '.', '_', '+' or '-',"
                        + " starting with a letter or digit");
            }
        }

        public static Model testbed() {
            return new Model(null, null, null, "cpu");
        }
    }

    /**
     * The edits made to every fact: methods × problems × layers.
     *
     * @param methods  method labels (rome, memit, ft-1, ft-5)
     * @param problems problem labels (error_injection, …)
     * @param layers   layers to edit, or null for every layer
     */
    public record Edits(List<String> methods, List<String> problems, int[] layers) {
        public Edits withLayers(int[] newLayers) {
            return new Edits(methods, problems, newLayers);
        }
    }

    /**
     * @param windows       window size by kind label (hidden, mlp, attn); kinds left out keep the spec's 1 / 5 / 5
     * @param noiseSigma    tracing noise σ, or NaN to estimate it ({@code NoiseLevel.sigma})
     * @param noiseSubjects facts file whose subjects estimate σ (null: the model's own facts.jsonl, as a testbed has)
     * @param minPClean     facts the model gives a lower p(target) are not analysed
     */
    public record Tracing(int samples, long seed, Map<String, Integer> windows, double noiseSigma, Path noiseSubjects,
                          double minPClean) {}

    /**
     * @param config   editing hyperparameters: a preset name (testbed, gpt-j, gpt2-xl) or a JSON file
     * @param corpus   text file (one passage per line) for ROME/MEMIT key statistics (null: the model's own corpus.txt)
     * @param cacheDir where key statistics are cached
     * @param batchRows row budget of a fact's batched value optimisations ({@link EditingStudy}), 0 = one edit at a time;
     *                  how the edits are computed, not what they are: no part of the grid
     * @param essence   the essence, fluency and target_score metrics of every edit (part of the grid when on)
     */
    public record Editing(String config, Path corpus, Path cacheDir, int batchRows, Essence.Settings essence) {
        public Editing {
            if (batchRows < 0) {
                throw new IllegalArgumentException("locus.editing.batch-rows is a row budget (at least 1) or 0 for one edit at a time, not "
                        + batchRows);
            }
            if (essence == null) {
                essence = Essence.Settings.off();
            }
        }

        /** Without the essence metrics. */
        public Editing(String config, Path corpus, Path cacheDir, int batchRows) {
            this(config, corpus, cacheDir, batchRows, Essence.Settings.off());
        }

        /** With the default batching ({@link EditingStudy#DEFAULT_BATCH_ROWS}), without the essence metrics. */
        public Editing(String config, Path corpus, Path cacheDir) {
            this(config, corpus, cacheDir, EditingStudy.DEFAULT_BATCH_ROWS);
        }
    }
}
