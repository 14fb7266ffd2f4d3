package dev.locus.stream;

import dev.locus.config.LocusConfig;
import dev.locus.stats.LayerStatistics;
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
import java.util.concurrent.ConcurrentHashMap;

/**
 * Runs the {@link ResultsAggregator} when this instance has the aggregator role, keeps its latest
 * view for REST and the page, streams each new view to server-sent-event subscribers, and
 * exposes the analysis as Micrometer gauges. Tags: model, version, grid, method, problem, metric,
 * plus predictors or layer where a figure has them: bounded by the versions and grids (a few per
 * model) and the grid's layers, never per fact.
 */
@ApplicationScoped
public class AggregatorService {
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

    void start(@Observes @Priority(10) StartupEvent event) {
        if (!Roles.aggregator(config.role())) {
            return;
        }
        aggregator = new ResultsAggregator(TopicSetup.clientSettings(kafka), config.topics().results(), config.topics().stats(),
                config.aggregator().id(), config.aggregator().snapshotInterval(), this::update).start();
        registerCounts(registry, aggregator);
    }

    /** What became of every record the aggregator read: counted, a duplicate, or unreadable. */
    static void registerCounts(MeterRegistry registry, ResultsAggregator aggregator) {
        FunctionCounter.builder("locus_results_counted", aggregator, ResultsAggregator::counted).register(registry);
        FunctionCounter.builder("locus_results_duplicates", aggregator, ResultsAggregator::duplicates)
                .description("results seen again (redelivery, replay) and not counted twice").register(registry);
        FunctionCounter.builder("locus_results_unreadable", aggregator, ResultsAggregator::unreadable)
                .description("records on the results topic that are no result event (logged, not counted)").register(registry);
    }

    void stop(@Observes ShutdownEvent event) throws InterruptedException {
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

    /** Every new view, as it happens. */
    public Multi<List<StatsState.GroupView>> updates() {
        return updates;
    }

    private void update(List<StatsState.GroupView> newView) {
        view = newView;
        for (StatsState.GroupView g : newView) {
            Tags model = Tags.of("model", g.model(), "version", g.version(), "grid", g.grid());
            if (g.method().equals("*")) {
                gauge("locus_facts_traced", model, g.traced());
                gauge("locus_facts_skipped_by_filter", model, g.skipped());
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

    /** Sets a gauge's value, registering it the first time its name and tags are seen. */
    private void gauge(String name, Tags tags, double value) {
        String key = name + tags;
        if (values.put(key, value) == null) {
            Gauge.builder(name, values, v -> v.getOrDefault(key, Double.NaN)).tags(tags).strongReference(true).register(registry);
        }
    }
}
