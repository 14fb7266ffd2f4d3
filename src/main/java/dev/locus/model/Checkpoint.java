package dev.locus.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.BiFunction;
import java.util.function.UnaryOperator;

/**
 * A Hugging Face model directory as {@code save_pretrained} writes it: config.json beside
 * model.safetensors, or the shards model.safetensors.index.json lists. The stored tensors are
 * checked against the names and shapes the config implies, so a wrong or partial checkpoint fails
 * at load, naming the file and tensor at fault, instead of later with a shape error.
 */
final class Checkpoint {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Checkpoint() {}

    /** The config.json of {@code dir}. */
    static Path configFile(Path dir) {
        Path file = dir.resolve("config.json");
        if (!Files.isRegularFile(file)) {
            throw new ModelLoadException("missing " + file + " (expected a Hugging Face model directory)");
        }
        return file;
    }

    static JsonNode readJson(Path file) {
        try {
            return JSON.readTree(Files.readString(file));
        } catch (IOException e) {
            throw new ModelLoadException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * The config.json {@code file}, whose model_type must be one of {@code types}; else the message names
     * what it is, e.g. "model_type 'gpt2' (architectures ["GPT2LMHeadModel"]) is not one GptJ reads: [gptj]".
     */
    static JsonNode readConfig(Path file, String reader, String... types) {
        JsonNode n = readJson(file);
        String type = n.path("model_type").asText("");
        if (!List.of(types).contains(type)) {
            throw new ModelLoadException(file + ": model_type '" + type + "' (architectures " + n.path("architectures")
                    + ") is not one " + reader + " reads: " + List.of(types));
        }
        return n;
    }

    static int requiredInt(Path file, JsonNode json, String field) {
        if (!json.path(field).canConvertToInt()) {
            throw new ModelLoadException(file + ": missing or non-integer field '" + field + "'");
        }
        return json.get(field).asInt();
    }

    /**
     * A model built by {@code build} on the tensors of {@code dir} ({@link #tensors}), read into a new
     * manager on {@code device} that becomes the model's; the manager is closed if reading or building fails.
     */
    static <T> T load(Path dir, Device device, Map<String, Shape> expected, UnaryOperator<String> rename, String model,
                      BiFunction<NDManager, Map<String, NDArray>, T> build) {
        NDManager manager = NDManager.newBaseManager(device);
        try {
            return build.apply(manager, tensors(dir, expected, rename, model, manager));
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /** What a config describes, for the messages: "a gptj model with 2 layers and a tied LM head". */
    static String describe(String modelType, int layers, boolean tiedHead) {
        return "a " + modelType + " model with " + layers + " layers" + (tiedHead ? " and a tied LM head" : "");
    }

    /**
     * Every tensor of {@code dir}, read into {@code manager}, keyed by {@code rename} of its stored
     * name and ordered as {@code expected}. {@code rename} returns null for a stored tensor the
     * model does not use (a buffer, a tied head), which is dropped. {@code model} says what the
     * config describes, for the messages ("a Llama with 4 layers"). The caller closes
     * {@code manager} if this throws.
     */
    static Map<String, NDArray> tensors(Path dir, Map<String, Shape> expected, UnaryOperator<String> rename,
                                        String model, NDManager manager) {
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        for (Path file : weightFiles(dir)) {
            for (Map.Entry<String, NDArray> e : SafeTensors.read(file, manager).entrySet()) {
                String name = rename.apply(e.getKey());
                if (name == null) {
                    e.getValue().close();
                    continue;
                }
                Shape want = expected.get(name);
                if (want == null) {
                    throw new ModelLoadException(file + ": unexpected tensor '" + e.getKey() + "' for " + model);
                }
                if (!want.equals(e.getValue().getShape())) {
                    throw new ModelLoadException(file + ": tensor '" + e.getKey() + "' has shape "
                            + e.getValue().getShape() + " but config.json implies " + want);
                }
                tensors.put(name, e.getValue());
            }
        }
        List<String> missing = new ArrayList<>(expected.keySet());
        missing.removeAll(tensors.keySet());
        if (!missing.isEmpty()) {
            throw new ModelLoadException(dir + ": missing tensors " + missing.subList(0, Math.min(5, missing.size()))
                    + (missing.size() > 5 ? " and " + (missing.size() - 5) + " more" : "") + " for " + model);
        }
        Map<String, NDArray> ordered = new LinkedHashMap<>();
        expected.keySet().forEach(n -> ordered.put(n, tensors.get(n)));
        return ordered;
    }

    static List<Path> weightFiles(Path dir) {
        Path single = dir.resolve("model.safetensors");
        if (Files.isRegularFile(single)) {
            return List.of(single);
        }
        Path index = dir.resolve("model.safetensors.index.json");
        if (!Files.isRegularFile(index)) {
            String hint = Files.exists(dir.resolve("pytorch_model.bin"))
                    ? " (found pytorch_model.bin: convert it to safetensors first)" : "";
            throw new ModelLoadException(dir + ": no model.safetensors or model.safetensors.index.json" + hint);
        }
        TreeSet<String> shards = new TreeSet<>();
        readJson(index).path("weight_map").elements().forEachRemaining(f -> shards.add(f.asText()));
        if (shards.isEmpty()) {
            throw new ModelLoadException(index + ": empty or missing weight_map");
        }
        List<Path> files = new ArrayList<>();
        for (String shard : shards) {
            Path f = dir.resolve(shard);
            if (!Files.isRegularFile(f)) {
                throw new ModelLoadException(index + " names shard " + shard + ", which is missing");
            }
            files.add(f);
        }
        return files;
    }
}
