package dev.locus.testbed;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Builds the testbed's tokenizer.json: a Hugging Face word-level model behind the "Whitespace"
 * pre-tokenizer, so the model loads through the same tokenizers library as any checkpoint and
 * character offsets come from it. One word = one token keeps the small model's vocabulary small.
 */
public final class WordLevelTokenizer {
    public static final String UNKNOWN = "[UNK]";
    public static final String END_OF_TEXT = "<|endoftext|>";
    /** The split the Whitespace pre-tokenizer applies: runs of word characters, runs of other non-space characters. */
    private static final Pattern WORDS = Pattern.compile("(?U)\\w+|[^\\w\\s]+");

    private WordLevelTokenizer() {}

    public static List<String> words(String text) {
        Matcher m = WORDS.matcher(text);
        List<String> out = new java.util.ArrayList<>();
        while (m.find()) {
            out.add(m.group());
        }
        return out;
    }

    /** The vocabulary: the two special tokens, then every word of {@code texts} in sorted order. */
    public static List<String> vocabulary(Collection<String> texts) {
        TreeSet<String> words = new TreeSet<>();
        texts.forEach(t -> words.addAll(words(t)));
        List<String> vocab = new java.util.ArrayList<>(List.of(UNKNOWN, END_OF_TEXT));
        vocab.addAll(words);
        return vocab;
    }

    public static void write(Path file, List<String> vocabulary) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (String special : List.of(UNKNOWN, END_OF_TEXT)) {
            added.addObject().put("id", vocabulary.indexOf(special)).put("content", special)
                    .put("single_word", false).put("lstrip", false).put("rstrip", false)
                    .put("normalized", false).put("special", true);
        }
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "Whitespace");
        root.putNull("post_processor");
        root.putObject("decoder").put("type", "WordPiece").put("prefix", "##").put("cleanup", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "WordLevel");
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < vocabulary.size(); i++) {
            vocab.put(vocabulary.get(i), i);
        }
        model.put("unk_token", UNKNOWN);
        json.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), root);
    }
}
