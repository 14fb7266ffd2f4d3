package dev.locus.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Hugging Face checkpoint directories written by tests: a config.json and a model.safetensors of zeros. */
final class TestCheckpoints {
    private static final ObjectMapper JSON = new ObjectMapper();

    private TestCheckpoints() {}

    /** Writes {@code config} as {@code dir}/config.json and returns that file. */
    static Path writeConfig(Path dir, ObjectNode config) throws IOException {
        Path file = dir.resolve("config.json");
        JSON.writeValue(file.toFile(), config);
        return file;
    }

    /** Writes config.json and a model.safetensors of zeros with {@code tensors} (name → shape). */
    static void write(Path dir, ObjectNode config, Map<String, Shape> tensors) throws IOException {
        writeConfig(dir, config);
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Map<String, NDArray> zeros = new LinkedHashMap<>();
            tensors.forEach((name, shape) -> zeros.put(name, m.zeros(shape)));
            SafeTensors.write(dir.resolve("model.safetensors"), zeros);
        }
    }
}
