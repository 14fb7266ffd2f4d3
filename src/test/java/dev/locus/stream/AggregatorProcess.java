package dev.locus.stream;

import java.time.Duration;
import java.util.Map;

/**
 * A bare aggregator in its own JVM, for the crash test: reads results from the broker given as the
 * first argument, snapshots every 200 ms, prints how many results it has counted, and runs until
 * it is killed.
 */
public final class AggregatorProcess {
    public static void main(String[] args) throws Exception {
        ResultsAggregator aggregator = new ResultsAggregator(Map.of("bootstrap.servers", args[0]), args[1], args[2], args[3],
                Duration.ofMillis(200), view -> {}).start();
        while (true) {
            System.out.println("counted " + aggregator.counted());
            System.out.flush();
            Thread.sleep(100);
        }
    }
}
