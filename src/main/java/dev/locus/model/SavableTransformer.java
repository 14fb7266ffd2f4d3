package dev.locus.model;

import java.io.IOException;
import java.nio.file.Path;

/** A family Locus can also create from scratch and write as a Hugging Face checkpoint: what the testbeds and random shapes need. */
public interface SavableTransformer extends Transformer {
    /** Writes config.json and model.safetensors (float32, HF's tensor names) into {@code dir}. */
    void save(Path dir) throws IOException;
}
