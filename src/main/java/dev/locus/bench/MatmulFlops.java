package dev.locus.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * FLOPs of the matrix products a piece of work runs, counted from the shapes PyTorch's profiler recorded for each
 * product kernel it executed (mm, bmm, addmm, baddbmm: 2·m·k·n each, batched ones times their batch; the wrappers that
 * call them, matmul and linear, are not counted again), forward and backward alike; and the engine's rate on a large
 * square product, what an achieved rate is a fraction of. The profiled run is slower: time the work separately.
 */
final class MatmulFlops {
    private static final ObjectMapper JSON = new ObjectMapper();

    private MatmulFlops() {}

    /** Runs {@code work} under the profiler and returns the FLOPs of its matrix products. */
    static double count(Runnable work) {
        Path trace;
        try {
            trace = Files.createTempFile("locus-profile-", ".json");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            JniUtils.startProfile(false, true, false);
            try {
                work.run();
            } finally {
                JniUtils.stopProfile(trace.toString());
            }
            return flops(trace);
        } finally {
            try {
                Files.deleteIfExists(trace);
            } catch (IOException e) {
                System.err.println("could not delete the profile " + trace + ": " + e);
            }
        }
    }

    /** Streams the Chrome trace (hundreds of MB for a protocol; libtorch writes a bare array of events) one event at a time. */
    private static double flops(Path trace) {
        double total = 0;
        try (JsonParser p = new JsonFactory().setCodec(JSON).createParser(trace.toFile())) {
            JsonToken first = p.nextToken();
            if (first == JsonToken.START_OBJECT) { // {"traceEvents": [...], ...}
                while (p.nextToken() == JsonToken.FIELD_NAME && !"traceEvents".equals(p.currentName())) {
                    p.nextToken();
                    p.skipChildren();
                }
                p.nextToken();
            } else if (first != JsonToken.START_ARRAY) {
                throw new IOException("not a Chrome trace");
            }
            while (p.nextToken() == JsonToken.START_OBJECT) {
                total += flops((JsonNode) p.readValueAsTree());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the profile " + trace, e);
        }
        return total;
    }

    private static double flops(JsonNode event) {
        JsonNode shape = event.path("shape");
        return switch (event.path("name").asText()) {
            case "aten::mm" -> product(shape.path(0), shape.path(1));
            case "aten::bmm" -> product(shape.path(0), shape.path(1));
            case "aten::addmm", "aten::baddbmm" -> product(shape.path(1), shape.path(2));
            default -> 0;
        };
    }

    /** 2·(batch)·m·k·n for [(b,) m, k] × [(b,) k, n]; 0 for shapes the trace did not record. */
    private static double product(JsonNode a, JsonNode b) {
        int n = a.size();
        if (n < 2 || b.size() != n) {
            return 0;
        }
        double flops = 2.0 * a.get(n - 2).asDouble() * a.get(n - 1).asDouble() * b.get(n - 1).asDouble();
        for (int i = 0; i < n - 2; i++) {
            flops *= a.get(i).asDouble();
        }
        return flops;
    }

    /** "{@code what}: F GFLOP of matmuls -> R GFLOP/s, P % of the square product's S GFLOP/s" for work of {@code flops} in {@code ms}. */
    static String rate(String what, double flops, double ms, double square) {
        double rate = flops / (ms / 1000) / 1e9;
        return String.format("%s: %.1f GFLOP of matmuls (counted from the executed shapes) -> %.1f GFLOP/s, %.0f %% of a 2048^3 "
                + "matmul's %.1f GFLOP/s measured now", what, flops / 1e9, rate, 100 * rate / square, square);
    }

    /** GFLOP/s of a size³ float32 product on this engine now (median of {@code runs}). */
    static double squareRate(int size, int runs) {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.randomNormal(new Shape(size, size));
            NDArray b = m.randomNormal(new Shape(size, size));
            List<Double> ms = Measure.repeat(2, runs, () -> a.matMul(b).close());
            return 2.0 * size * size * size / (Measure.median(ms) / 1000) / 1e9;
        }
    }
}
