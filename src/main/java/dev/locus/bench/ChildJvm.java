package dev.locus.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** This application started again as a child JVM (by bench-service and chaos): its jar, a free port, the command line, the stop. */
public final class ChildJvm {
    private ChildJvm() {}

    /** The quarkus-run.jar this code was loaded from (fast-jar layout: quarkus-app/app/&lt;application&gt;.jar beside it). */
    public static Path ownJar() {
        try {
            Path code = Path.of(ChildJvm.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            for (Path dir = code.getParent(); dir != null; dir = dir.getParent()) {
                Path run = dir.resolve("quarkus-run.jar");
                if (Files.isRegularFile(run)) {
                    return run;
                }
            }
            throw new IllegalStateException("no quarkus-run.jar above " + code + "; pass --app");
        } catch (URISyntaxException | RuntimeException e) {
            throw new IllegalStateException("cannot find this application's quarkus-run.jar (pass --app): " + e.getMessage(), e);
        }
    }

    public static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free port on the loopback interface", e);
        }
    }

    /**
     * {@code java} of this JVM with this JVM's -X and -D settings (heap, offline DJL, ...), except the ones a child is given
     * explicitly: Locus's, Quarkus's, Kafka's, the engine's thread counts and the temporary directory.
     */
    public static List<String> java() {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if ((arg.startsWith("-X") || arg.startsWith("-D")) && !arg.startsWith("-Dlocus.") && !arg.startsWith("-Dquarkus.")
                    && !arg.startsWith("-Dai.djl.pytorch.num_") && !arg.startsWith("-Djava.io.tmpdir") && !arg.startsWith("-Dkafka.")) {
                cmd.add(arg);
            }
        }
        return cmd;
    }

    /** A process builder whose environment leaves the child's configuration to its -D settings (no Kafka address, no LOCUS_*). */
    public static ProcessBuilder builder(List<String> command) {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().remove("KAFKA_BOOTSTRAP_SERVERS");
        pb.environment().keySet().removeIf(k -> k.startsWith("LOCUS_"));
        return pb;
    }

    /** Graceful stop (SIGTERM: Quarkus closes its clients, then the launcher its broker), then a kill after 30 s. */
    public static void stop(Process p) {
        if (p == null || !p.isAlive()) {
            return;
        }
        p.destroy();
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
