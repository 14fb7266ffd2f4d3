package dev.locus.study;

import dev.locus.editing.EditingConfig;
import dev.locus.editing.EditingMethod;
import dev.locus.editing.EditingProblem;
import dev.locus.editing.Essence;
import dev.locus.tracing.TraceKind;
import dev.locus.tracing.TracingSettings;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a study does to every fact, named: the edits (methods × problems × layers), the tracing, the fact filter and the
 * editing hyperparameters, selected in one setting ({@code locus.grid.protocol}, {@code edit-study --protocol}). Any of
 * them set on its own overrides the protocol's ({@link StudySettings}).
 * <ul>
 * <li>{@value #LOCUS}: Locus's own defaults (ROME, error injection, every layer, the spec's tracing, the testbed's hyperparameters).</li>
 * <li>{@code paper-gpt-j}, {@code paper-gpt2-xl}: the published runs of Hase et al. (2023), for GPT-J 6B (28 layers) and
 * GPT-2 XL (48 layers) only; every value's source in the authors' code is given where it is set below.</li>
 * <li>{@code paper-gpt-j-scaled}, {@code paper-gpt2-xl-scaled}: a published run's structure on a model of another depth
 * ({@link #scaledTo}) with the hyperparameters configured for that model ({@code locus.editing.config}).</li>
 * </ul>
 *
 * @param modelLayers       the depth the protocol was made for; 0 = any
 * @param layers            layers edited; null = every layer
 * @param tracingWindows    window per kind label (hidden, mlp, attn); kinds left out keep the spec's 1 / 5 / 5
 * @param noiseSigma        the tracing noise σ; NaN = estimated, {@code noiseFactor} × the std of subject token embeddings
 * @param knownContinuation the fact filter's continuation length in tokens (0 = no filter)
 * @param highDenominator   fractional tracing effects of p_high − p_corrupt rather than p_clean − p_corrupt
 * @param editingConfig     editing hyperparameters (a preset name); null = as configured
 * @param editWindows       layers each method edits around the central one, by method label; left out = its hyperparameters'
 * @param essence           the essence, fluency and target_score metrics of every edit
 */
public record Protocol(String name, int modelLayers, List<String> methods, List<String> problems, int[] layers, int samples,
                       Map<String, Integer> tracingWindows, double noiseSigma, double noiseFactor, double minPClean,
                       int knownContinuation, boolean highDenominator, String editingConfig, Map<String, Integer> editWindows,
                       Essence.Settings essence) {

    public static final String LOCUS = "locus";
    private static final String SCALED = "-scaled";

    public Protocol {
        tracingWindows = Map.copyOf(tracingWindows);
        editWindows = Map.copyOf(editWindows);
        layers = layers == null ? null : layers.clone();
    }

    public static List<String> names() {
        return List.of(LOCUS, "paper-gpt-j", "paper-gpt2-xl", "paper-gpt-j" + SCALED, "paper-gpt2-xl" + SCALED);
    }

    /** The protocol {@code name} (null: {@value #LOCUS}) for a model of {@code layers} layers; a published one only fits its own depth. */
    public static Protocol forModel(String name, int layers) {
        String wanted = name == null ? LOCUS : name.trim();
        boolean scaled = wanted.endsWith(SCALED);
        Protocol p = named(scaled ? wanted.substring(0, wanted.length() - SCALED.length()) : wanted);
        if (scaled) {
            return p.scaledTo(layers);
        }
        if (p.modelLayers != 0 && p.modelLayers != layers) {
            throw new IllegalArgumentException("protocol " + p.name + " is the published run on a " + p.modelLayers + "-layer model; this "
                    + "model has " + layers + " layers: use " + p.name + SCALED + " for its structure scaled to " + layers + " layers");
        }
        return p;
    }

    private static Protocol named(String name) {
        return switch (name) {
            case LOCUS -> new Protocol(LOCUS, 0, List.of("rome"), List.of("error_injection"), null, 10, Map.of(), Double.NaN, 3, 0.02, 0,
                    false, EditingConfig.TESTBED, Map.of(), Essence.Settings.off());
            // Layers: evaluate.py:818-820, list(range(0, 28, 4)) + [5, 27]; noise: tracing.py:546-549, noise_sd = .094.
            case "paper-gpt-j" -> published("paper-gpt-j", 28, new int[] {0, 4, 5, 8, 12, 16, 20, 24, 27}, 0.094, EditingConfig.PAPER_GPT_J);
            // Layers: evaluate.py:814-817, list(range(0, 48, 4)) + [17, 47]; noise: tracing.py:543-545, noise_sd = .1.
            case "paper-gpt2-xl" -> published("paper-gpt2-xl", 48, new int[] {0, 4, 8, 12, 16, 17, 20, 24, 28, 32, 36, 40, 44, 47}, 0.1,
                    EditingConfig.PAPER_GPT2_XL);
            default -> throw new IllegalArgumentException("unknown protocol '" + name + "'; known: " + names());
        };
    }

    /**
     * The published grid, as google/belief-localization runs it (files under third_party/; the README's "Published protocol"
     * lists every source and where the spec differs): the four conditions FT-1, FT-5, ROME-1, MEMIT-5 (data-analysis.ipynb,
     * the R² cell) × the five problems; tracing with 10 noise samples (experiments/tracing.py:541) restoring the MLP output
     * in windows of 5 (the analysis' TRACE_WINDOW_SIZE = 5; hidden states one layer, causal_trace.py:309-330), fractions of
     * p_high − p_corrupt (the notebook's fraction_restored over orig_pred_prob = high_score, causal_trace.py:411); a fact is
     * analysed if its true object is in the greedy 36-token continuation (tracing.py:545, any case: util/fewshot_utils.py)
     * and p(true) > 0.02 (evaluate.py:851, target_prob_check); every edit's essence and fluency as theirs (5 texts of 100
     * tokens, top-k 5: the README's "Essence and fluency").
     */
    private static Protocol published(String name, int modelLayers, int[] layers, double sigma, String editingConfig) {
        return new Protocol(name, modelLayers, List.of("rome", "memit", "ft-1", "ft-5"), EditingProblem.labels(), layers, 10,
                Map.of("hidden", 1, "mlp", 5, "attn", 5), sigma, 3, 0.02, 36, true, editingConfig,
                Map.of("rome", 1, "memit", 5, "ft-1", 1, "ft-5", 5),
                new Essence.Settings(true, Essence.Settings.SAMPLES, Essence.Settings.PUBLISHED_LENGTH, Essence.Settings.TOP_K));
    }

    /** This protocol's tracing with what {@code set} sets over it. */
    public TracingSettings tracing(StudySettings.Tracing set) {
        TracingSettings.Builder tracing = TracingSettings.defaults().toBuilder().samples(set.samples() != null ? set.samples() : samples)
                .seed(set.seed()).minCleanProbability(set.minPClean() != null ? set.minPClean() : minPClean).noiseFactor(noiseFactor)
                .knownContinuation(set.knownContinuation() != null ? set.knownContinuation() : knownContinuation)
                .highDenominator(highDenominator);
        tracingWindows.forEach((kind, size) -> tracing.window(TraceKind.parse(kind), size));
        set.windows().forEach((kind, size) -> tracing.window(TraceKind.parse(kind), size));
        return tracing.build();
    }

    /** This protocol's essence metrics with what {@code set} sets over them. */
    public Essence.Settings essence(StudySettings.EssenceSet set) {
        return set.over(essence);
    }

    /** The editing hyperparameters' name: {@code set} if not null, else this protocol's, else the testbed's. */
    public String editingConfig(String set) {
        return set != null ? set : editingConfig != null ? editingConfig : EditingConfig.TESTBED;
    }

    /** The editing hyperparameters {@code name} with this protocol's edit windows. */
    public EditingConfig editing(String name) {
        EditingConfig config = EditingConfig.named(name);
        if (editWindows.isEmpty()) {
            return config;
        }
        Map<EditingMethod, Integer> windows = new EnumMap<>(EditingMethod.class);
        editWindows.forEach((method, w) -> windows.put(EditingMethod.parse(method), w));
        return config.withWindows(windows);
    }

    /**
     * The structure of this protocol on a model of {@code depth} layers: each layer ℓ at round(ℓ · (depth − 1) / (L − 1)) (so the
     * first and last stay first and last; layers that meet are kept once), each window w at max(1, round(w · depth / L)); σ
     * estimated (a published σ is its model's); the hyperparameters are left to the configuration, since the published ones
     * are tuned to the published models; essence texts of {@value Essence.Settings#LENGTH} tokens (a small model's context is short).
     */
    public Protocol scaledTo(int depth) {
        if (modelLayers == 0) {
            throw new IllegalArgumentException("protocol " + name + " fits any model; there is nothing to scale");
        }
        int[] scaledLayers = Arrays.stream(layers).map(l -> (int) Math.round(l * (depth - 1.0) / (modelLayers - 1))).distinct().sorted().toArray();
        return new Protocol(name + SCALED, depth, methods, problems, scaledLayers, samples, scaled(tracingWindows, depth), Double.NaN,
                noiseFactor, minPClean, knownContinuation, highDenominator, null, scaled(editWindows, depth), Essence.Settings.defaults());
    }

    private Map<String, Integer> scaled(Map<String, Integer> windows, int depth) {
        Map<String, Integer> out = new LinkedHashMap<>();
        windows.forEach((k, w) -> out.put(k, Math.max(1, (int) Math.round(w * (double) depth / modelLayers))));
        return out;
    }
}
