package dev.locus.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Hugging Face layout variants a real GPT-2 directory may use, and the errors for broken ones. */
class CheckpointTest {
    @TempDir
    Path tmp;

    private static float[] logits(Gpt2 model) {
        try (NDManager m = model.manager().newSubManager()) {
            return model.forward(m.create(new long[] {1, 5, 9, 2}, new Shape(1, 4)), Hooks.none()).toFloatArray();
        }
    }

    private static void assertSameModel(Gpt2 expected, Path dir) {
        try (Gpt2 loaded = Gpt2.load(dir, Device.cpu())) {
            for (String name : expected.weights().names()) {
                assertArrayEquals(expected.weights().get(name).toFloatArray(), loaded.weights().get(name).toFloatArray(), name);
            }
            assertArrayEquals(logits(expected), logits(loaded));
        }
    }

    @Test
    void savedModelLoadsBack() throws IOException {
        try (Gpt2 model = TinyModels.random(1)) {
            model.save(tmp);
            assertSameModel(model, tmp);
        }
    }

    @Test
    void loadsPrefixedNamesBuffersAndTiedHead() throws IOException {
        try (Gpt2 model = TinyModels.random(2); NDManager m = model.manager().newSubManager()) {
            model.config().write(tmp.resolve("config.json"));
            SafeTensors.write(tmp.resolve("model.safetensors"), TestCheckpoints.huggingFaceNames(model, m));
            assertSameModel(model, tmp);
        }
    }

    @Test
    void loadsShardedCheckpoints() throws IOException {
        try (Gpt2 model = TinyModels.random(3); NDManager m = model.manager().newSubManager()) {
            TestCheckpoints.writeSharded(tmp, model, m);
            assertSameModel(model, tmp);
        }
    }

    private void assertLoadFails(String... expectedInMessage) {
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> Gpt2.load(tmp, Device.cpu()).close());
        for (String s : expectedInMessage) {
            assertTrue(e.getMessage().contains(s), "message '" + e.getMessage() + "' should name '" + s + "'");
        }
    }

    @Test
    void brokenCheckpointsFailWithMessagesNamingTheCulprit() throws IOException {
        assertLoadFails("config.json");
        try (Gpt2 model = TinyModels.random(4)) {
            model.save(tmp);
        }
        Path weights = tmp.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(weights);

        Files.write(weights, java.util.Arrays.copyOf(bytes, bytes.length - 100));
        assertLoadFails("model.safetensors", "truncated");

        Files.write(weights, new byte[] {1, 2, 3});
        assertLoadFails("model.safetensors", "not a safetensors file");

        Files.write(weights, bytes);
        Files.writeString(tmp.resolve("config.json"), Files.readString(tmp.resolve("config.json")).replace("\"n_inner\" : 64", "\"n_inner\" : 32"));
        assertLoadFails("h.0.mlp.c_fc.weight", "shape");

        Files.writeString(tmp.resolve("config.json"), "{\"model_type\": \"llama\", \"architectures\": [\"LlamaForCausalLM\"]}");
        assertLoadFails("unsupported architecture", "llama");

        Files.delete(weights);
        TinyModels.config().write(tmp.resolve("config.json"));
        assertLoadFails("no model.safetensors");
    }

    @Test
    void missingTensorsAreNamed() throws IOException {
        try (Gpt2 model = TinyModels.random(5)) {
            model.config().write(tmp.resolve("config.json"));
            Map<String, NDArray> some = new LinkedHashMap<>(model.weights().asMap());
            some.remove("h.2.ln_2.bias");
            SafeTensors.write(tmp.resolve("model.safetensors"), some);
        }
        assertLoadFails("missing tensors", "h.2.ln_2.bias");
    }

    @Test
    void halfPrecisionConvertsExactly() {
        assertTrue(SafeTensors.halfToFloat((short) 0x3c00) == 1f);
        assertTrue(SafeTensors.halfToFloat((short) 0xc000) == -2f);
        assertTrue(SafeTensors.halfToFloat((short) 0x0001) == (float) Math.pow(2, -24));
        assertTrue(SafeTensors.halfToFloat((short) 0x7bff) == 65504f);
    }
}
