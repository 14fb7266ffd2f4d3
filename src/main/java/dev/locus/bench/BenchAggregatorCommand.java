package dev.locus.bench;

import dev.locus.stream.EmbeddedKafka;
import dev.locus.stream.Observation;
import dev.locus.stream.ResultsAggregator;
import dev.locus.stream.StatsState;
import dev.locus.stream.VersionComparisons;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * How many results per second the aggregator folds in: (a) in-process, parsing each event and
 * adding it to a {@link StatsState} (also with the aggregator's per-batch view, to separate its
 * cost), and (b) through Kafka, a real {@link ResultsAggregator} (snapshots on) reading a results
 * topic on an in-process broker, from its start until it has seen every event. One run prints both
 * side by side, since the machine's load changes from minute to minute.
 */
@Command(name = "bench-aggregator", mixinStandardHelpOptions = true,
        description = "Aggregator ingest rate (results/s) in-process and through Kafka on synthetic edit results, and their ratio.")
public class BenchAggregatorCommand implements Runnable {

    @Option(names = "--events", defaultValue = "200000", description = "events folded in-process (default: ${DEFAULT-VALUE})")
    int events;

    @Option(names = "--kafka-events", defaultValue = "100000", description = "events through Kafka (default: ${DEFAULT-VALUE})")
    int kafkaEvents;

    @Option(names = "--warmup", defaultValue = "50000", description = "untimed in-process events first, for the JIT (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--duplicates", defaultValue = "0.05", description = "share of events that repeat an earlier one (default: ${DEFAULT-VALUE})")
    double duplicateRate;

    @Option(names = "--batch", defaultValue = "500",
            description = "in-process view every this many events, as the aggregator does per poll (max.poll.records; default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--snapshot-interval", defaultValue = "PT5S", description = "the aggregator's snapshot interval (default: ${DEFAULT-VALUE}, the service's)")
    Duration snapshotInterval;

    @Option(names = "--partitions", defaultValue = "3", description = "partitions of the results topic (default: ${DEFAULT-VALUE}, the service's)")
    int partitions;

    @Option(names = "--timeout", defaultValue = "PT10M", description = "give up waiting for the aggregator after this long")
    Duration timeout;

    @Option(names = "--repeat", defaultValue = "3",
            description = "in-process runs of (a) and (a'), alternating; the medians are reported (default: ${DEFAULT-VALUE})")
    int repeat;

    @Option(names = "--seed", defaultValue = "1")
    long seed;

    /** Seconds to fold events in-process, and what the state counted. */
    private record Fold(double seconds, long counted, long duplicates) {}

    /** Seconds from the aggregator's start until it has seen every event; seconds until its first; events seen by then. */
    private record KafkaRun(double seconds, double firstS, long seenAtFirst) {}

    @Override
    public void run() {
        System.out.printf("load average at start: %s%n", Measure.loadAverage());
        SyntheticResults.Events all = generate();
        foldInProcess(all.json().subList(0, warmup), 0); // warm-up, not reported
        List<Double> plainS = new ArrayList<>();
        List<Double> viewS = new ArrayList<>();
        for (int r = 0; r < repeat; r++) {
            Fold plain = foldInProcess(all.json().subList(0, events), 0);
            check(r == 0 ? "in-process" : null, plain.counted(), plain.duplicates(), all.unique(events), events);
            Fold withView = foldInProcess(all.json().subList(0, events), batch);
            check(r == 0 ? "in-process + view" : null, withView.counted(), withView.duplicates(), all.unique(events), events);
            plainS.add(plain.seconds());
            viewS.add(withView.seconds());
            System.out.printf("in-process run %d: (a) %.2f s = %,.0f results/s, (a') %.2f s = %,.0f results/s%n", r + 1, plain.seconds(),
                    events / plain.seconds(), withView.seconds(), events / withView.seconds());
        }
        double plainMedian = Measure.median(plainS);
        double viewMedian = Measure.median(viewS);
        comparisonState(all.json().subList(0, events));
        KafkaRun kafka = throughKafka(all);
        printSummary(plainMedian, viewMedian, kafka);
        System.out.printf("load average at end: %s%n", Measure.loadAverage());
    }

    private SyntheticResults.Events generate() {
        int n = Math.max(Math.max(events, kafkaEvents), warmup);
        long genStart = System.nanoTime();
        SyntheticResults.Events all = SyntheticResults.generate(n, duplicateRate, seed);
        double meanBytes = all.json().stream().limit(10_000).mapToInt(String::length).average().orElse(0);
        System.out.printf("generated %,d synthetic edit results (%d models x %d methods x %d problems x %d layers; %,d duplicates; "
                        + "mean %.0f bytes) in %.1f s%n", n, SyntheticResults.MODELS.size(), 4, 5, SyntheticResults.LAYERS,
                all.duplicates(), meanBytes, (System.nanoTime() - genStart) / 1e9);
        return all;
    }

    private void printSummary(double plainS, double viewS, KafkaRun kafka) {
        double inProcessRate = events / plainS;
        double viewRate = events / viewS;
        double kafkaRate = kafkaEvents / kafka.seconds();
        double steadyRate = (kafkaEvents - kafka.seenAtFirst()) / (kafka.seconds() - kafka.firstS());
        System.out.println();
        System.out.printf("(a)  in-process, parse + StatsState.add (median):   %,9d results in %7.2f s = %,9.0f results/s%n", events, plainS,
                inProcessRate);
        System.out.printf("(a') in-process, + view() every %d events (median): %,9d results in %7.2f s = %,9.0f results/s%n", batch, events,
                viewS, viewRate);
        System.out.printf("(b)  through Kafka, ResultsAggregator from start:   %,9d results in %7.2f s = %,9.0f results/s "
                + "(first result counted after %.2f s; %,.0f results/s from then on)%n", kafkaEvents, kafka.seconds(), kafkaRate,
                kafka.firstS(), steadyRate);
        System.out.printf("ratio in-process (a) / Kafka (b): %.1fx; (a') / (b): %.1fx%n", inProcessRate / kafkaRate, viewRate / kafkaRate);
    }

    /**
     * What comparing versions costs the aggregator: the heap the per-fact scores and knowledge take (state with the
     * events folded in minus the empty state, after GC; rough, as heap figures are), their size in the snapshots, and
     * the time to compare one model's version with itself (every edit paired), as /api/compare and the gauges do.
     */
    private static void comparisonState(List<String> events) {
        Runtime rt = Runtime.getRuntime();
        System.gc();
        long before = rt.totalMemory() - rt.freeMemory();
        StatsState state = new StatsState();
        try {
            for (String event : events) {
                state.add(Observation.read(event));
            }
        } catch (Observation.Unreadable e) {
            throw new IllegalStateException("a synthetic result is unreadable", e);
        }
        System.gc();
        long heap = rt.totalMemory() - rt.freeMemory() - before;
        long snapshotBytes = 0;
        long factBytes = 0;
        for (StatsState.GroupSnapshot g : state.snapshots("bench", Map.of(), "now").values()) {
            snapshotBytes += g.countedIds().length();
            for (Map.Entry<String, String> e : g.factEdits().entrySet()) {
                factBytes += e.getKey().length() + e.getValue().length() + 6; // "key":"value",
            }
        }
        long edits = 0;
        String model = SyntheticResults.MODELS.get(0);
        String version = null;
        String grid = null;
        for (StatsState.GroupView g : state.view()) {
            edits += g.edits();
            if (g.model().equals(model)) {
                version = g.version();
                grid = g.grid();
            }
        }
        long start = System.nanoTime();
        VersionComparisons c = VersionComparisons.compute(state, model, version, version, grid, grid, VersionComparisons.Settings.DEFAULT)
                .orElseThrow();
        double compareS = (System.nanoTime() - start) / 1e9;
        long paired = state.edits(model, version, grid).size();
        System.out.printf("comparison state: %,d edits kept per fact; whole state %.1f MiB of heap (%.0f bytes/edit, ids and statistics "
                        + "included); in the snapshots %.1f MiB of per-fact scores (%.0f bytes/edit) besides %.1f MiB of counted ids%n",
                edits, heap / 1048576.0, (double) heap / edits, factBytes / 1048576.0, (double) factBytes / edits, snapshotBytes / 1048576.0);
        System.out.printf("comparing %s with itself: %,d paired edits of %,d facts, %d method x problem x metric groups, %d replicates: %.2f s%n",
                model, paired, c.pairedFacts(), c.comparisons().size(), c.replicates(), compareS);
    }

    /** Folds the events (parse + add, plus a view every {@code viewEvery} events when > 0). */
    private static Fold foldInProcess(List<String> events, int viewEvery) {
        StatsState state = new StatsState();
        long counted = 0;
        long duplicates = 0;
        int sinceView = 0;
        long start = System.nanoTime();
        try {
            for (String event : events) {
                if (state.add(Observation.read(event))) {
                    counted++;
                } else {
                    duplicates++;
                }
                if (viewEvery > 0 && ++sinceView == viewEvery) {
                    state.view();
                    sinceView = 0;
                }
            }
            if (viewEvery > 0 && sinceView > 0) {
                state.view();
            }
        } catch (Observation.Unreadable e) {
            throw new IllegalStateException("a synthetic result is unreadable", e);
        }
        return new Fold((System.nanoTime() - start) / 1e9, counted, duplicates);
    }

    /** The first {@code --kafka-events} events on a fresh broker's results topic, then a real aggregator reading them. */
    private KafkaRun throughKafka(SyntheticResults.Events all) {
        Path dir;
        try {
            dir = Files.createTempDirectory("locus-bench-kafka-");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        String results = "bench.results";
        String stats = "bench.stats";
        try (EmbeddedKafka broker = EmbeddedKafka.start(dir)) {
            broker.createTopic(results, partitions, Map.of());
            broker.createTopic(stats, 1, Map.of("cleanup.policy", "compact", "max.message.bytes", "16777216"));
            produce(broker.bootstrapServers(), results, all);
            return aggregate(Map.of("bootstrap.servers", broker.bootstrapServers()), results, stats, all);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } finally {
            Measure.deleteTree(dir);
        }
    }

    /** Produces the events, acknowledged by every replica, before the aggregator starts: not part of the figure. */
    private void produce(String bootstrap, String topic, SyntheticResults.Events all) {
        long produceStart = System.nanoTime();
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 4 << 20,
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName(),
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName()))) {
            for (int i = 0; i < kafkaEvents; i++) {
                producer.send(new ProducerRecord<>(topic, all.keys().get(i), all.json().get(i)));
            }
            producer.flush();
        }
        double produceS = (System.nanoTime() - produceStart) / 1e9;
        System.out.printf("produced %,d results to %s (%d partitions) in %.1f s (%,.0f/s; not part of the figure)%n", kafkaEvents,
                topic, partitions, produceS, kafkaEvents / produceS);
    }

    /** Starts an aggregator (snapshots on) and polls its counts until it has seen every event. */
    private KafkaRun aggregate(Map<String, Object> client, String results, String stats, SyntheticResults.Events all)
            throws InterruptedException {
        long start = System.nanoTime();
        ResultsAggregator aggregator = new ResultsAggregator(client, results, stats, "bench", snapshotInterval, view -> {}).start();
        double firstS = Double.NaN;
        long seenAtFirst = 0;
        long deadline = start + timeout.toNanos();
        long seen = 0;
        try {
            while ((seen = aggregator.counted() + aggregator.duplicates()) < kafkaEvents) {
                if (seen > 0 && Double.isNaN(firstS)) {
                    firstS = (System.nanoTime() - start) / 1e9;
                    seenAtFirst = seen;
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the aggregator saw only " + seen + " of " + kafkaEvents + " results in " + timeout);
                }
                Thread.sleep(2);
            }
            double totalS = (System.nanoTime() - start) / 1e9;
            check("through Kafka", aggregator.counted(), aggregator.duplicates(), all.unique(kafkaEvents), kafkaEvents);
            return new KafkaRun(totalS, Double.isNaN(firstS) ? totalS : firstS, seenAtFirst);
        } finally {
            aggregator.close(); // writes its last snapshot, closes its clients before the broker goes
        }
    }

    /** Fails unless the counts are as generated; prints them when {@code what} is given. */
    private static void check(String what, long counted, long duplicates, int unique, int total) {
        if (counted != unique || counted + duplicates != total) {
            throw new IllegalStateException((what == null ? "in-process" : what) + ": counted " + counted + " and " + duplicates + " duplicates, expected " + unique
                    + " and " + (total - unique));
        }
        if (what != null) {
            System.out.printf("%-18s counted %,d, duplicates %,d (as generated)%n", what + ":", counted, duplicates);
        }
    }
}
