package dev.locus.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Hugging Face checkpoint directories written by tests: a config.json with a model.safetensors of zeros, or a GPT-2 as transformers stores it. */
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

    /** Tensors renamed as transformers' GPT2LMHeadModel stores them, with its buffers and tied head. */
    static Map<String, NDArray> huggingFaceNames(Gpt2 model, NDManager m) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        model.weights().asMap().forEach((name, value) -> out.put("transformer." + name, value));
        out.put("transformer.h.0.attn.bias", m.ones(new Shape(1, 1, 24, 24)));
        out.put("lm_head.weight", model.weights().get("wte.weight"));
        return out;
    }

    /** {@code model} as transformers stores it ({@link #huggingFaceNames}), in two shards listed by model.safetensors.index.json. */
    static void writeSharded(Path dir, Gpt2 model, NDManager m) throws IOException {
        model.config().write(dir.resolve("config.json"));
        Map<String, NDArray> first = new LinkedHashMap<>();
        Map<String, NDArray> second = new LinkedHashMap<>();
        StringBuilder index = new StringBuilder("{\"metadata\": {}, \"weight_map\": {");
        int i = 0;
        for (Map.Entry<String, NDArray> e : huggingFaceNames(model, m).entrySet()) {
            String shard = i++ % 2 == 0 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
            (shard.startsWith("model-00001") ? first : second).put(e.getKey(), e.getValue());
            index.append(i > 1 ? "," : "").append('"').append(e.getKey()).append("\": \"").append(shard).append('"');
        }
        SafeTensors.write(dir.resolve("model-00001-of-00002.safetensors"), first);
        SafeTensors.write(dir.resolve("model-00002-of-00002.safetensors"), second);
        Files.writeString(dir.resolve("model.safetensors.index.json"), index.append("}}").toString());
    }
}
