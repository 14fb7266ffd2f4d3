package dev.locus.study;

import ai.djl.Device;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.editing.EditResult;
import dev.locus.editing.EditingConfig;
import dev.locus.editing.EditingMethod;
import dev.locus.editing.EditingProblem;
import dev.locus.editing.Essence;
import dev.locus.editing.KeyStatistics;
import dev.locus.facts.Fact;
import dev.locus.model.LanguageModel;
import dev.locus.model.Sha256;
import dev.locus.testbed.ModelSource;
import dev.locus.tracing.CausalTrace;
import dev.locus.tracing.FastTracer;
import dev.locus.tracing.TraceJson;
import dev.locus.tracing.TraceOutcome;
import dev.locus.tracing.TracingSettings;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.IntStream;

/**
 * One model and its grid, ready to study facts: trace a fact, then make every configured edit,
 * handing each result event to a sink as soon as it exists. Plain library code (no Kafka), so the
 * service and the benchmark that measures the service's overhead run exactly the same work.
 */
public final class FactStudyRunner implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final LanguageModel lm;
    private final String modelName;
    private final String version;
    private final String fingerprint;
    private final Grid grid;
    private final String gridId;
    private final List<EditingMethod> methods;
    private final List<EditingProblem> problems;
    private final EditingStudy study;

    private FactStudyRunner(LanguageModel lm, String modelName, String version, Grid grid, List<EditingMethod> methods,
                            List<EditingProblem> problems, EditingStudy study) {
        this.lm = lm;
        this.modelName = modelName;
        this.fingerprint = lm.model().weights().fingerprint();
        this.version = version != null ? version : fingerprint;
        this.grid = grid;
        this.gridId = grid.id();
        this.methods = methods;
        this.problems = problems;
        this.study = study;
    }

    /** Loads the model and prepares tracing and editing; {@code progress} hears about slow steps. */
    public static FactStudyRunner open(StudySettings s, Consumer<String> progress) {
        ModelSource source = ModelSource.of(s.model().dir());
        LanguageModel lm = source.load(Device.fromName(s.model().device()));
        try {
            int layerCount = lm.dimensions().layers();
            Protocol protocol = Protocol.forModel(s.protocol(), layerCount);
            List<EditingMethod> methods = orElse(s.edits().methods(), protocol.methods()).stream().map(EditingMethod::parse).toList();
            List<EditingProblem> problems = orElse(s.edits().problems(), protocol.problems()).stream().map(EditingProblem::parse).toList();
            int[] layers = orElse(s.edits().layers(), protocol.layers());
            layers = layers == null ? IntStream.range(0, layerCount).toArray() : layers.clone();
            for (int layer : layers) {
                if (layer < 0 || layer >= layerCount) {
                    throw new IllegalArgumentException("layer " + layer + " is outside the model's 0.." + (layerCount - 1));
                }
            }
            TracingSettings tracing = protocol.tracing(s.tracing());
            double sigma = !Double.isNaN(s.tracing().noiseSigma()) ? s.tracing().noiseSigma()
                    : !Double.isNaN(protocol.noiseSigma()) ? protocol.noiseSigma() : estimatedSigma(lm, source, s, tracing, progress);
            KeyStatistics statistics = methods.stream().anyMatch(EditingMethod::needsKeyStatistics)
                    ? source.keyStatistics(lm, s.editing().corpus(), s.editing().cacheDir(), progress) : null;
            String editingName = protocol.editingConfig(s.editing().config());
            EditingConfig editing = protocol.editing(editingName);
            Essence.Settings essence = protocol.essence(s.editing().essence());
            EditingStudy study = new EditingStudy(lm, editing, statistics, editing.prefixes(lm, s.tracing().seed()), new FastTracer(lm, tracing, sigma),
                    s.editing().batchRows(), essence);
            Map<String, Integer> windowLabels = new LinkedHashMap<>();
            tracing.windows().forEach((k, v) -> windowLabels.put(k.label(), v));
            Grid grid = new Grid(methods.stream().map(EditingMethod::label).toList(), problems.stream().map(EditingProblem::label).toList(),
                    layers, tracing.samples(), s.tracing().seed(), windowLabels, sigma, tracing.minCleanProbability(), editingName,
                    editing.fingerprint(), Protocol.LOCUS.equals(protocol.name()) ? null : protocol.name(),
                    tracing.knownContinuation() == 0 ? null : tracing.knownContinuation(), tracing.highDenominator() ? true : null,
                    Grid.Essence.of(essence));
            String name = s.model().name() != null ? s.model().name() : source.name();
            return new FactStudyRunner(lm, name, s.model().version(), grid, methods, problems, study);
        } catch (RuntimeException e) {
            lm.close();
            throw e;
        }
    }

    private static <T> T orElse(T value, T protocols) {
        return value != null ? value : protocols;
    }

    /** σ from the subjects of locus.tracing.noise-subjects, else of the model's own facts.jsonl (a testbed's). */
    private static double estimatedSigma(LanguageModel lm, ModelSource source, StudySettings s, TracingSettings tracing,
                                         Consumer<String> progress) {
        if (s.tracing().noiseSubjects() == null && source.factsFile().isEmpty()) {
            throw new IllegalArgumentException("set the tracing noise σ (locus.tracing.noise-sigma) or a facts file to estimate it "
                    + "from (locus.tracing.noise-subjects): model " + source.name() + " carries no " + ModelSource.FACTS_FILE);
        }
        return ModelSource.noiseSigma(lm, source.facts(s.tracing().noiseSubjects()), tracing.noiseFactor(), progress);
    }

    public String modelName() {
        return modelName;
    }

    public String version() {
        return version;
    }

    public String fingerprint() {
        return fingerprint;
    }

    public Grid grid() {
        return grid;
    }

    public LanguageModel model() {
        return lm;
    }

    /**
     * Studies one fact. Events go to {@code sink} in order: the trace (or a skipped event when the
     * fact is not analysed), then one per edit; a trace-only fact's trace or skipped event is all
     * there is. Their ids depend only on the model, the grid, the fact's content and the edit, so a
     * redelivered fact produces the same ids again.
     */
    public TraceOutcome run(Fact fact, Consumer<ResultEvent> sink) {
        String factKey = fingerprint + "|" + gridId + "|" + Sha256.hex(json(fact));
        long start = System.nanoTime();
        String answer = greedyAnswer(fact);
        TraceOutcome outcome = study.run(fact, methods, problems, grid.layers(),
                edit -> sink.accept(editEvent(factKey, fact, edit)),
                trace -> sink.accept(traceEvent(factKey, fact, trace, answer, (System.nanoTime() - start) / 1_000_000)));
        if (outcome instanceof TraceOutcome.NotAnalysed n) {
            sink.accept(new ResultEvent.Skipped(id(factKey, "skipped"), "skipped", modelName, version, fingerprint, fact.id(), gridId, grid,
                    n.pClean(), answer, fact.relationId(), n.reason(), (System.nanoTime() - start) / 1_000_000, traceOnly(fact)));
        }
        return outcome;
    }

    /**
     * What the unedited model says after the prompt: its greedy continuation, as many tokens as the true object has,
     * decoded. With p(true) it is what a version comparison's knowledge diff compares (a changed answer is what a
     * person looks at first when a version regresses). Null where the prompt cannot be tokenized for it; the trace reports why.
     */
    private String greedyAnswer(Fact fact) {
        try {
            long[] prompt = lm.tokenize(fact.prompt()).ids();
            int length = lm.targetIds(fact.prompt(), fact.targetTrue()).length;
            return lm.decode(lm.generateGreedy(prompt, length)).strip();
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private ResultEvent traceEvent(String factKey, Fact fact, CausalTrace trace, String answer, long durationMs) {
        return new ResultEvent.Trace(id(factKey, "trace"), "trace", modelName, version, fingerprint, fact.id(), gridId, grid,
                TraceJson.of(fact.id(), fact.targetTrue(), trace), answer, fact.relationId(), durationMs, traceOnly(fact));
    }

    /** The events' marker: true for a trace-only fact, absent (null) otherwise, so other facts' events stay as they were. */
    private static Boolean traceOnly(Fact fact) {
        return fact.traceOnly() ? Boolean.TRUE : null;
    }

    private ResultEvent editEvent(String factKey, Fact fact, EditResult edit) {
        return new ResultEvent.Edit(id(factKey, "edit|" + edit.method() + "|" + edit.problem() + "|" + edit.layer()), "edit",
                modelName, version, fingerprint, fact.id(), gridId, grid, edit);
    }

    private static String id(String factKey, String what) {
        return Sha256.hex(factKey + "|" + what).substring(0, 32);
    }

    private static String json(Fact fact) {
        try {
            return JSON.writeValueAsString(fact);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        lm.close();
    }
}
