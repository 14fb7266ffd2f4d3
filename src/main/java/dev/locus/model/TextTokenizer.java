package dev.locus.model;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** A Hugging Face tokenizer.json, used without special tokens, padding or truncation. */
public final class TextTokenizer implements AutoCloseable {
    private final HuggingFaceTokenizer tokenizer;

    private TextTokenizer(HuggingFaceTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    public static TextTokenizer load(Path tokenizerJson) {
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new ModelLoadException("missing tokenizer file " + tokenizerJson);
        }
        try {
            return new TextTokenizer(HuggingFaceTokenizer.newInstance(tokenizerJson,
                    Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false")));
        } catch (IOException | RuntimeException e) {
            throw new ModelLoadException("cannot load tokenizer " + tokenizerJson + ": " + e.getMessage(), e);
        }
    }

    /** Token ids and the character span [start, end) of each token in {@code text}. */
    public record Tokens(long[] ids, int[] starts, int[] ends) {
        public int length() {
            return ids.length;
        }

        /** The token positions [first, last + 1) whose characters overlap [charStart, charEnd). */
        public int[] span(int charStart, int charEnd) {
            int first = -1;
            int last = -1;
            for (int i = 0; i < ids.length; i++) {
                if (starts[i] < charEnd && ends[i] > charStart) {
                    if (first < 0) {
                        first = i;
                    }
                    last = i;
                }
            }
            return first < 0 ? null : new int[] {first, last + 1};
        }
    }

    public Tokens encode(String text) {
        Encoding e = tokenizer.encode(text, false, false);
        CharSpan[] spans = e.getCharTokenSpans();
        int[] starts = new int[spans.length];
        int[] ends = new int[spans.length];
        for (int i = 0; i < spans.length; i++) {
            // Tokens that stand for no characters (none in GPT-2 BPE) get an empty span.
            starts[i] = spans[i] == null ? -1 : spans[i].getStart();
            ends[i] = spans[i] == null ? -1 : spans[i].getEnd();
        }
        return new Tokens(e.getIds(), starts, ends);
    }

    public String decode(long[] ids) {
        return tokenizer.decode(ids, false);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
