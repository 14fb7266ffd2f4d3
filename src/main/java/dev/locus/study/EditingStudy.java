package dev.locus.study;

import dev.locus.editing.EditEvaluator;
import dev.locus.editing.EditResult;
import dev.locus.editing.EditingConfig;
import dev.locus.editing.EditingMethod;
import dev.locus.editing.EditingProblem;
import dev.locus.editing.Editor;
import dev.locus.editing.Essence;
import dev.locus.editing.KeyStatistics;
import dev.locus.facts.Fact;
import dev.locus.model.Adam;
import dev.locus.model.LanguageModel;
import dev.locus.tracing.CausalTrace;
import dev.locus.tracing.TraceOutcome;
import dev.locus.tracing.Tracer;
import java.util.List;
import java.util.function.Consumer;

/**
 * The whole protocol for one fact: trace it, then edit it at every configured layer with every
 * configured method and problem, measuring and undoing each edit. Results go to {@code sink} as
 * soon as each is done. A {@linkplain Fact#traceOnly() trace-only} fact is traced and never edited.
 */
public final class EditingStudy {
    private final LanguageModel lm;
    private final EditingConfig config;
    private final KeyStatistics statistics;
    private final List<String> prefixes;
    /** MEMIT's: ROME's prefixes, or its own templates where the configuration says so (seeded with the tracing seed). */
    private final List<String> memitPrefixes;
    private final Tracer tracer;
    private final EditEvaluator evaluator;
    private final int batchRows;

    /**
     * The row budget of batched studies unless configured: on the 2-core CPU measured (README, "Batched edits") budgets
     * from one group (22 rows) to 132 rows took the same time, and 264 longer (its activations no longer fit the caches).
     */
    public static final int DEFAULT_BATCH_ROWS = 128;

    /** The study with each method's edits of a fact batched in {@value #DEFAULT_BATCH_ROWS} rows. */
    public EditingStudy(LanguageModel lm, EditingConfig config, KeyStatistics statistics, List<String> prefixes, Tracer tracer) {
        this(lm, config, statistics, prefixes, tracer, DEFAULT_BATCH_ROWS);
    }

    /**
     * @param batchRows the row budget of each batch of a method's edits of a fact at all layers ({@link Editor#batch}: ROME's
     *                  v* and MEMIT's z optimised together, the fine-tunings tuned together, the keys from one pass), each edit's
     *                  prompts then scored in one pass from the edited layer ({@link EditEvaluator#prepare}); or 0 for every
     *                  edit one at a time (the reference)
     */
    public EditingStudy(LanguageModel lm, EditingConfig config, KeyStatistics statistics, List<String> prefixes, Tracer tracer, int batchRows) {
        this(lm, config, statistics, prefixes, tracer, batchRows, Essence.Settings.off());
    }

    /**
     * As {@link #EditingStudy(LanguageModel, EditingConfig, KeyStatistics, List, Tracer, int)}, every edit also measured by
     * {@code essence} when it is on: its texts seeded from the tracing seed and the fact ({@link Essence#seed}).
     */
    public EditingStudy(LanguageModel lm, EditingConfig config, KeyStatistics statistics, List<String> prefixes, Tracer tracer, int batchRows,
                        Essence.Settings essence) {
        if (batchRows < 0) {
            throw new IllegalArgumentException("the batch row budget is rows (at least 1) or 0 for one edit at a time, not " + batchRows);
        }
        this.batchRows = batchRows;
        this.lm = lm;
        this.config = config;
        this.statistics = statistics;
        this.prefixes = prefixes;
        this.memitPrefixes = config.memitPrefixes(lm, tracer.settings().seed(), prefixes);
        this.tracer = tracer;
        this.evaluator = new EditEvaluator(lm, tracer.sigma(), tracer.settings().seed(), essence, config.scoredPrompts(),
                config.scoreFloor());
    }

    /** Runs the protocol; returns the trace outcome (a not-analysed or trace-only fact gets no edits). */
    public TraceOutcome run(Fact fact, List<EditingMethod> methods, List<EditingProblem> problems, int[] layers, Consumer<EditResult> sink) {
        return run(fact, methods, problems, layers, sink, trace -> {});
    }

    /** As {@link #run(Fact, List, List, int[], Consumer)}, handing the trace to {@code onTrace} before the first edit. */
    public TraceOutcome run(Fact fact, List<EditingMethod> methods, List<EditingProblem> problems, int[] layers, Consumer<EditResult> sink,
                            Consumer<CausalTrace> onTrace) {
        Adam.outsideAutograd(); // the caller's thread may never have loaded the engine (see there)
        TraceOutcome outcome = tracer.trace(fact.prompt(), fact.subject(), fact.targetTrue());
        if (outcome instanceof CausalTrace trace) {
            onTrace.accept(trace);
            if (fact.traceOnly()) {
                return outcome;
            }
            double[] localization = trace.localization();
            for (EditingProblem problem : problems) {
                EditEvaluator.Setup setup = evaluator.setup(fact, problem);
                try (EditEvaluator.Prepared prepared = batchRows == 0 ? null : evaluator.prepare(setup)) {
                    for (EditingMethod method : methods) {
                        Editor editor = config.editor(method, problem, lm, statistics, method == EditingMethod.MEMIT ? memitPrefixes : prefixes);
                        try (Editor.Batch batch = batchRows == 0 ? editor.oneAtATime(setup.task()) : editor.batch(setup.task(), layers, batchRows)) {
                            for (int layer : layers) {
                                sink.accept(evaluator.evaluate(setup, editor.name(), batch, layer, localization[layer], prepared));
                            }
                        }
                    }
                }
            }
        }
        return outcome;
    }
}
