package dev.locus.study;

import dev.locus.editing.Essence;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Everything a worker needs to set up its model and its grid, grouped as the configuration is
 * ({@code locus.model}, {@code locus.grid}, {@code locus.tracing}, {@code locus.editing}). A value
 * left null is the protocol's ({@link Protocol}: {@code protocol}, or Locus's own defaults when that is
 * null too); one that is set overrides the protocol's.
 */
public record StudySettings(Model model, String protocol, Edits edits, Tracing tracing, Editing editing) {

    public StudySettings {
        if (model == null || edits == null || tracing == null || editing == null) {
            throw new IllegalArgumentException("study settings need the model, the edits, tracing and editing settings");
        }
    }

    /** Under Locus's own protocol ({@link Protocol#LOCUS}). */
    public StudySettings(Model model, Edits edits, Tracing tracing, Editing editing) {
        this(model, null, edits, tracing, editing);
    }

    public StudySettings withEdits(Edits newEdits) {
        return new StudySettings(model, protocol, newEdits, tracing, editing);
    }

    public StudySettings withModel(Model newModel) {
        return new StudySettings(newModel, protocol, edits, tracing, editing);
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
     * The edits made to every fact: methods × problems × layers; null = the protocol's.
     *
     * @param methods  method labels (rome, memit, ft-1, ft-5)
     * @param problems problem labels (error_injection, …)
     * @param layers   layers to edit
     */
    public record Edits(List<String> methods, List<String> problems, int[] layers) {
        public Edits withLayers(int[] newLayers) {
            return new Edits(methods, problems, newLayers);
        }
    }

    /**
     * @param samples       corrupted runs per trace; null = the protocol's
     * @param windows       window size by kind label (hidden, mlp, attn); kinds left out keep the protocol's
     * @param noiseSigma    tracing noise σ, or NaN for the protocol's (which may estimate it: {@code NoiseLevel.sigma})
     * @param noiseSubjects facts file whose subjects estimate σ (null: the model's own facts.jsonl, as a testbed has)
     * @param minPClean     facts the model gives a lower p(target) are not analysed; null = the protocol's
     * @param knownContinuation facts whose true object is not in the model's greedy continuation of this many tokens are not
     *                      analysed (0: no such filter); null = the protocol's
     */
    public record Tracing(Integer samples, long seed, Map<String, Integer> windows, double noiseSigma, Path noiseSubjects,
                          Double minPClean, Integer knownContinuation) {
        public Tracing {
            windows = windows == null ? Map.of() : Map.copyOf(windows);
        }

        /** With the protocol's continuation filter. */
        public Tracing(Integer samples, long seed, Map<String, Integer> windows, double noiseSigma, Path noiseSubjects, Double minPClean) {
            this(samples, seed, windows, noiseSigma, noiseSubjects, minPClean, null);
        }
    }

    /**
     * @param config   editing hyperparameters: a preset name (testbed, gpt-j, gpt2-xl, paper-gpt-j, paper-gpt2-xl) or a JSON file; null = the protocol's
     * @param corpus   text file (one passage per line) for ROME/MEMIT key statistics (null: the model's own corpus.txt)
     * @param cacheDir where key statistics are cached
     * @param batchRows row budget of a fact's batched value optimisations ({@link EditingStudy}), 0 = one edit at a time;
     *                  how the edits are computed, not what they are: no part of the grid
     * @param essence   the essence, fluency and target_score metrics of every edit (part of the grid when on); what is null in
     *                  it is the protocol's
     */
    public record Editing(String config, Path corpus, Path cacheDir, int batchRows, EssenceSet essence) {
        public Editing {
            if (batchRows < 0) {
                throw new IllegalArgumentException("locus.editing.batch-rows is a row budget (at least 1) or 0 for one edit at a time, not "
                        + batchRows);
            }
            if (essence == null) {
                essence = EssenceSet.NONE;
            }
        }

        /** With the protocol's essence metrics. */
        public Editing(String config, Path corpus, Path cacheDir, int batchRows) {
            this(config, corpus, cacheDir, batchRows, EssenceSet.NONE);
        }

        /** With the default batching ({@link EditingStudy#DEFAULT_BATCH_ROWS}) and the protocol's essence metrics. */
        public Editing(String config, Path corpus, Path cacheDir) {
            this(config, corpus, cacheDir, EditingStudy.DEFAULT_BATCH_ROWS);
        }
    }

    /**
     * The essence metrics' settings that are set (the rest, null, are the protocol's): on or off, texts per fact, tokens per
     * text, top-k ({@link Essence.Settings}).
     */
    public record EssenceSet(Boolean enabled, Integer samples, Integer length, Integer topK) {
        public static final EssenceSet NONE = new EssenceSet(null, null, null, null);

        /** These settings over {@code protocols}. */
        public Essence.Settings over(Essence.Settings protocols) {
            return new Essence.Settings(enabled != null ? enabled : protocols.enabled(), samples != null ? samples : protocols.samples(),
                    length != null ? length : protocols.length(), topK != null ? topK : protocols.topK());
        }
    }
}
