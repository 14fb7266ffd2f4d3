package dev.locus.stream;

import dev.locus.config.LocusConfig;
import dev.locus.stats.LayerStatistics;
import dev.locus.study.VersionComparison;
import dev.locus.tracing.TokenGroup;
import dev.locus.tracing.TraceAverage;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.common.annotation.Identifier;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.operators.multi.processors.BroadcastProcessor;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Runs the {@link ResultsAggregator} when this instance has the aggregator role, keeps its latest
 * view for REST and the page, streams each new view to server-sent-event subscribers, and
 * exposes the analysis as Micrometer gauges. Tags: model, version, grid, method, problem, metric,
 * plus predictors or layer where a figure has them: bounded by the versions and grids (a few per
 * model) and the grid's layers, never per fact.
 * <p>
 * It also compares versions: on request ({@link #compare}, cached until a result changes the state) and, for every
 * announced version with a baseline, every few seconds as {@code locus_version_*} gauges (model, baseline, candidate,
 * method, problem, metric) that the dashboard and the regression alert read.
 */
@ApplicationScoped
public class AggregatorService {
    private static final Logger LOG = Logger.getLogger(AggregatorService.class);

    @Inject
    LocusConfig config;

    @Inject
    MeterRegistry registry;

    @Inject
    @Identifier("default-kafka-broker")
    Map<String, Object> kafka;

    private final BroadcastProcessor<List<StatsState.GroupView>> updates = BroadcastProcessor.create();
    private final Map<String, Double> values = new ConcurrentHashMap<>();
    private volatile List<StatsState.GroupView> view = List.of();
    private ResultsAggregator aggregator;
    private final Map<String, VersionComparisons> comparisons = new ConcurrentHashMap<>();
    private ScheduledExecutorService versionMetrics;

    @Inject
    ModelRegistry models;

    /** After the model registry (20): results are judged against the announced versions. */
    void start(@Observes @Priority(25) StartupEvent event) {
        if (!Roles.aggregator(config.role())) {
            return;
        }
        aggregator = new ResultsAggregator(TopicSetup.clientSettings(kafka), config.topics().results(), config.topics().stats(),
                config.aggregator().id(), config.aggregator().snapshotInterval(), this::update)
                .checkingVersions(config.topics().deadLetters(), models::refusal).start();
        registerCounts(registry, aggregator);
        versionMetrics = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "locus-version-metrics");
            t.setDaemon(true);
            return t;
        });
        long every = config.aggregator().compareInterval().toMillis();
        versionMetrics.scheduleWithFixedDelay(this::updateVersionMetrics, every, every, TimeUnit.MILLISECONDS);
    }

    /**
     * {@code candidate} against {@code baseline} of {@code model} (grids: null for each version's main grid; over the facts of
     * {@code relation}, or all for null), computed from
     * the counted results and kept until another result is counted. Empty while either version has no results.
     */
    public Optional<VersionComparisons> compare(String model, String baseline, String candidate, String baselineGrid,
                                                String candidateGrid, String relation) {
        if (aggregator == null) {
            return Optional.empty();
        }
        String key = String.join("|", model, baseline, candidate, String.valueOf(baselineGrid), String.valueOf(candidateGrid),
                String.valueOf(relation));
        VersionComparisons cached = comparisons.get(key);
        StatsState state = aggregator.state();
        if (cached != null && cached.revision() == state.revision()) {
            return Optional.of(cached);
        }
        Optional<VersionComparisons> fresh = VersionComparisons.compute(state, model, baseline, candidate, baselineGrid,
                candidateGrid, relation, VersionComparisons.Settings.DEFAULT);
        fresh.ifPresent(c -> comparisons.put(key, c));
        return fresh;
    }

    /** Every announced version with a baseline, against it, as gauges; a comparison only moves when results arrive. */
    private void updateVersionMetrics() {
        try {
            for (ModelAnnouncement v : models.versions()) {
                if (v.baseline() == null) {
                    continue;
                }
                compare(v.name(), v.baseline(), v.version(), null, null, null).ifPresent(c -> {
                    Tags pair = Tags.of("model", c.model(), "baseline", c.baseline(), "candidate", c.candidate());
                    gauge("locus_version_paired_facts", pair, c.pairedFacts());
                    gauge("locus_version_knowledge_changed", pair, c.knowledge().changed());
                    for (VersionComparison m : c.comparisons()) {
                        Tags tags = pair.and("method", m.method(), "problem", m.problem(), "metric", m.metric());
                        gauge("locus_version_difference", tags, m.overall().mean());
                        gauge("locus_version_difference_low", tags, m.overall().low());
                        gauge("locus_version_difference_high", tags, m.overall().high());
                        gauge("locus_version_verdict", tags, m.verdict().sign());
                    }
                });
            }
        } catch (RuntimeException e) {
            LOG.warn("could not update the version comparison metrics", e);
        }
    }

    /** What became of every record the aggregator read: counted, a duplicate, or unreadable. */
    static void registerCounts(MeterRegistry registry, ResultsAggregator aggregator) {
        FunctionCounter.builder("locus_results_counted", aggregator, ResultsAggregator::counted).register(registry);
        FunctionCounter.builder("locus_results_duplicates", aggregator, ResultsAggregator::duplicates)
                .description("results seen again (redelivery, replay) and not counted twice").register(registry);
        FunctionCounter.builder("locus_results_unreadable", aggregator, ResultsAggregator::unreadable)
                .description("records on the results topic that are no result event (logged, not counted)").register(registry);
        FunctionCounter.builder("locus_stats_snapshot_failures", aggregator, ResultsAggregator::snapshotFailures)
                .description("group snapshots not written to locus.stats (too large, broker away); the group keeps counting").register(registry);
        FunctionCounter.builder("locus_results_refused", aggregator, ResultsAggregator::refused)
                .description("results of a withdrawn version or with weights not their version's: dead letters, not counted").register(registry);
    }

    void stop(@Observes ShutdownEvent event) throws InterruptedException {
        if (versionMetrics != null) {
            versionMetrics.shutdownNow();
        }
        if (aggregator != null) {
            aggregator.close();
        }
        updates.onComplete();
    }

    public boolean enabled() {
        return aggregator != null;
    }

    public List<StatsState.GroupView> view() {
        return view;
    }

    /**
     * Every new view, as it happens; a subscriber slower than the updates (an SSE client while results arrive in bursts)
     * gets the latest view when it asks next. Without that the processor fails a subscriber that has not requested the
     * next item (BackPressureFailure), which ended the live stream: seen in bench-service with batched edits.
     */
    public Multi<List<StatsState.GroupView>> updates() {
        return updates.onOverflow().dropPreviousItems();
    }

    private void update(List<StatsState.GroupView> newView) {
        view = newView;
        for (StatsState.GroupView g : newView) {
            Tags model = Tags.of("model", g.model(), "version", g.version(), "grid", g.grid());
            if (g.method().equals("*")) {
                gauge("locus_facts_traced", model, g.traced());
                gauge("locus_facts_skipped_by_filter", model, g.skipped());
                if (g.traceOnly() != null) {
                    traceOnlyGauges(model, g.traceOnly());
                }
                continue;
            }
            Tags group = model.and("method", g.method(), "problem", g.problem());
            gauge("locus_edits", group, g.edits());
            gauge("locus_edits_failed", group, g.failedEdits());
            g.analysis().forEach((metric, a) -> {
                Tags tags = group.and("metric", metric);
                gauge("locus_observations", tags, a.observations());
                gauge("locus_r2", tags.and("predictors", "layer"), a.layerR2());
                gauge("locus_r2", tags.and("predictors", "tracing"), a.tracingR2());
                gauge("locus_r2", tags.and("predictors", "both"), a.bothR2());
                gauge("locus_r2_gain", tags, a.gain());
                gauge("locus_r2_gain_f_test_p_value", tags, a.gainTest().pValue());
                gauge("locus_correlation", tags.and("layer", "all"), a.correlation());
                for (LayerStatistics.LayerFigures layer : a.layers()) {
                    Tags at = tags.and("layer", Integer.toString(layer.layer()));
                    gauge("locus_correlation", at, layer.correlation());
                    gauge("locus_layer_mean_score", at, layer.meanScore());
                    gauge("locus_layer_mean_tracing", at, layer.meanTracing());
                }
            });
        }
        updates.onNext(newView);
    }

    /** The trace-only facts' average: per kind, token group and layer, bounded like the per-layer figures (3 × 6 × layers). */
    private void traceOnlyGauges(Tags model, TraceAverage.Summary average) {
        gauge("locus_trace_only_facts", model, average.facts());
        gauge("locus_trace_only_not_analysed", model, average.notAnalysed());
        gauge("locus_trace_only_mean_peak_layer", model, average.meanPeakLayer() == null ? Double.NaN : average.meanPeakLayer());
        for (int l = 0; l < average.peakLayers().length; l++) {
            gauge("locus_trace_only_peak_layer_facts", model.and("layer", Integer.toString(l)), average.peakLayers()[l]);
        }
        average.effect().forEach((kind, groups) -> {
            for (TokenGroup group : TokenGroup.values()) {
                double[] layers = groups[group.ordinal()];
                for (int l = 0; layers != null && l < layers.length; l++) {
                    gauge("locus_trace_only_effect", model.and("kind", kind, "token_group", group.name().toLowerCase(java.util.Locale.ROOT),
                            "layer", Integer.toString(l)), layers[l]);
                }
            }
        });
    }

    /** Sets a gauge's value, registering it the first time its name and tags are seen. */
    private void gauge(String name, Tags tags, double value) {
        String key = name + tags;
        if (values.put(key, value) == null) {
            Gauge.builder(name, values, v -> v.getOrDefault(key, Double.NaN)).tags(tags).strongReference(true).register(registry);
        }
    }
}
