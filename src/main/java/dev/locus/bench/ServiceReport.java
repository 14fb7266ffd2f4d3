package dev.locus.bench;

import dev.locus.facts.Fact;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/** What bench-service measured, round by round, and the report it prints from that. */
final class ServiceReport {
    private ServiceReport() {}

    /** What one fact made through the library: result events, and the trace and edit time they report. */
    record Work(int events, double traceMs, double editMs) {}

    /** One fact through the library: its work, wall time, and CPU seconds of this process and of the model thread. */
    record LibraryFact(Fact fact, Work work, double ms, double cpuS, double threadCpuS) {}

    /**
     * One batch through the service: the results waited for, seconds until the aggregator's view counted them, the
     * worker's trace and edit ms (its timers), and the child's CPU seconds by thread group and in all.
     */
    record ServiceBatch(int results, double seconds, double traceMs, double editMs, Map<String, Double> cpuByThread, double cpuS) {}

    /** A round: the batch's facts one by one through the library, then all of them in one request through the service. */
    record Round(List<LibraryFact> library, ServiceBatch service) {
        double libraryMs() {
            double ms = 0;
            for (LibraryFact f : library) {
                ms += f.ms();
            }
            return ms;
        }

        double libraryCpuS() {
            double s = 0;
            for (LibraryFact f : library) {
                s += f.cpuS();
            }
            return s;
        }

        double overhead() {
            return service.seconds() * 1000 / libraryMs() - 1;
        }
    }

    static void printLibraryFact(int round, LibraryFact f) {
        System.out.printf("round %d library  %-10s %9.0f ms  (%d results; trace %.0f ms, edits %.0f ms)%n", round + 1, f.fact().id(),
                f.ms(), f.work().events(), f.work().traceMs(), f.work().editMs());
    }

    static void printRound(int round, Round r) {
        ServiceBatch s = r.service();
        int facts = r.library().size();
        System.out.printf("round %d service  %d facts  %9.0f ms  = %.0f ms per fact  (%d results; trace %.0f ms, edits %.0f ms)"
                + "  round overhead %+.1f %%; CPU library %.1f s, service %.1f s (%+.1f %%)%n", round + 1, facts, s.seconds() * 1000,
                s.seconds() * 1000 / facts, s.results(), s.traceMs(), s.editMs(), 100 * r.overhead(), r.libraryCpuS(), s.cpuS(),
                100 * (s.cpuS() / r.libraryCpuS() - 1));
    }

    /** Per fact over all rounds ({@code n} facts): wall time, overhead, where the time went, CPU. */
    static void printSummary(List<Round> rounds, int n) {
        List<LibraryFact> library = rounds.stream().flatMap(r -> r.library().stream()).toList();
        List<Double> libraryMs = library.stream().map(LibraryFact::ms).toList();
        List<Double> overheads = rounds.stream().map(Round::overhead).toList();
        double libraryPerFact = libraryMs.stream().mapToDouble(Double::doubleValue).sum() / libraryMs.size();
        double servicePerFact = rounds.stream().mapToDouble(r -> r.service().seconds() * 1000).sum() / n;
        System.out.println();
        System.out.printf("library  per fact: %8.0f ms  (mean of %d facts; median %.0f ms)%n", libraryPerFact, libraryMs.size(),
                Measure.median(libraryMs));
        System.out.printf("service  per fact: %8.0f ms  (batch time / %d facts, submission until the aggregator's view counts all results)%n",
                servicePerFact, n);
        System.out.printf("service overhead: %+.1f %% (service / library - 1; target <= 10 %%)%s%n", 100 * (servicePerFact / libraryPerFact - 1),
                rounds.size() > 1 ? String.format("; median of the %d paired rounds %+.1f %%", rounds.size(), 100 * Measure.median(overheads)) : "");
        printWork(library, rounds, n, libraryPerFact, servicePerFact);
        printCpu(library, rounds, n);
    }

    /** Trace and edit time as the results report them, and the rest of the wall time (setup, publishing, Kafka, aggregator). */
    private static void printWork(List<LibraryFact> library, List<Round> rounds, int n, double libraryPerFact, double servicePerFact) {
        double[] libraryWork = {0, 0};
        library.forEach(f -> {
            libraryWork[0] += f.work().traceMs();
            libraryWork[1] += f.work().editMs();
        });
        double[] serviceWork = {0, 0};
        rounds.forEach(r -> {
            serviceWork[0] += r.service().traceMs();
            serviceWork[1] += r.service().editMs();
        });
        double libraryRest = libraryPerFact - (libraryWork[0] + libraryWork[1]) / n;
        double serviceRest = servicePerFact - (serviceWork[0] + serviceWork[1]) / n;
        System.out.printf("per fact, as the results report it:   trace %7.0f ms  edits %8.0f ms  rest %7.0f ms  (library)%n",
                libraryWork[0] / n, libraryWork[1] / n, libraryRest);
        System.out.printf("                                      trace %7.0f ms  edits %8.0f ms  rest %7.0f ms  (service; rest = wall - trace - edits:"
                + " setup, publishing, Kafka, aggregator)%n", serviceWork[0] / n, serviceWork[1] / n, serviceRest);
        double libraryRatio = libraryPerFact / ((libraryWork[0] + libraryWork[1]) / n);
        double serviceRatio = servicePerFact / ((serviceWork[0] + serviceWork[1]) / n);
        System.out.printf("wall / (trace + edits): library %.4f, service %.4f -> overhead beyond the model work %+.2f %% "
                + "(blind to the load's effect on the model work itself)%n", libraryRatio, serviceRatio, 100 * (serviceRatio / libraryRatio - 1));
    }

    private static void printCpu(List<LibraryFact> library, List<Round> rounds, int n) {
        double[] libraryCpu = {0, 0}; // process, this (model) thread, seconds
        library.forEach(f -> {
            libraryCpu[0] += f.cpuS();
            libraryCpu[1] += f.threadCpuS();
        });
        Map<String, Double> serviceCpu = new TreeMap<>(); // thread group -> seconds; sorted, so ties below print in name order
        rounds.forEach(r -> r.service().cpuByThread().forEach((group, s) -> serviceCpu.merge(group, s, Double::sum)));
        double serviceTotal = serviceCpu.values().stream().mapToDouble(Double::doubleValue).sum();
        System.out.printf("CPU per fact: library process %.1f s (model thread %.1f s); service process %.1f s -> CPU overhead %+.1f %%%n",
                libraryCpu[0] / n, libraryCpu[1] / n, serviceTotal / n, 100 * (serviceTotal / libraryCpu[0] - 1));
        System.out.println("service CPU per fact by thread: " + serviceCpu.entrySet().stream()
                .sorted(Map.Entry.<String, Double>comparingByValue().reversed()).limit(8)
                .map(e -> String.format("%s %.2f s", e.getKey(), e.getValue() / n)).collect(Collectors.joining(", ")));
    }
}
