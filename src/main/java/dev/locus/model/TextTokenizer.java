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

    /**
     * Token ids and the character span [start, end) of each token in {@code text}, as Java String
     * indices; [-1, -1] for a token that stands for no characters.
     */
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
        // The library counts code points; Java Strings (and so String.indexOf) count UTF-16 units.
        int[] utf16Index = utf16Indices(text);
        int[] starts = new int[spans.length];
        int[] ends = new int[spans.length];
        for (int i = 0; i < spans.length; i++) {
            // Tokens that stand for no characters keep an empty span.
            starts[i] = spans[i] == null ? -1 : utf16Index[spans[i].getStart()];
            ends[i] = spans[i] == null ? -1 : utf16Index[spans[i].getEnd()];
        }
        return new Tokens(e.getIds(), starts, ends);
    }

    /** The UTF-16 index of each code point offset 0..codePointCount of {@code text}. */
    private static int[] utf16Indices(String text) {
        int[] index = new int[text.codePointCount(0, text.length()) + 1];
        for (int cp = 0, at = 0; cp < index.length; cp++) {
            index[cp] = at;
            if (at < text.length()) {
                at += Character.charCount(text.codePointAt(at));
            }
        }
        return index;
    }

    public String decode(long[] ids) {
        return tokenizer.decode(ids, false);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
