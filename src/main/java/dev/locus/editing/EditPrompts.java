package dev.locus.editing;

import dev.locus.facts.InvalidFactException;
import dev.locus.model.LanguageModel;
import dev.locus.model.TextTokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * The token-level inputs of one edit: the prompt behind each context prefix with the subject's
 * token span in it, the target's tokens, and the "{subject} is a" prompt of the KL term.
 */
record EditPrompts(List<long[]> prompts, int[][] spans, long[] target, long[] klPrompt, int[] klSpan) {

    static EditPrompts of(LanguageModel lm, List<String> prefixes, EditTask task) {
        List<long[]> prompts = new ArrayList<>();
        int[][] spans = new int[prefixes.size()][];
        for (int i = 0; i < prefixes.size(); i++) {
            String text = prefixes.get(i) + task.prompt();
            TextTokenizer.Tokens tokens = lm.tokenize(text);
            spans[i] = subjectSpan(tokens, text, task.subject(), prefixes.get(i).length());
            prompts.add(tokens.ids());
        }
        String kl = task.subject() + " is a";
        TextTokenizer.Tokens klTokens = lm.tokenize(kl);
        return new EditPrompts(prompts, spans, lm.targetIds(task.prompt(), task.target()), klTokens.ids(),
                subjectSpan(klTokens, kl, task.subject(), 0));
    }

    /** The subject's token span [first, last + 1) in {@code text}, searched from {@code from}. */
    static int[] subjectSpan(TextTokenizer.Tokens tokens, String text, String subject, int from) {
        int at = subject == null || subject.isBlank() ? -1 : text.indexOf(subject, from);
        int[] span = at < 0 ? null : tokens.span(at, at + subject.length());
        if (span == null) {
            throw new InvalidFactException("subject", "'" + subject + "' does not occur in the prompt '" + text + "'");
        }
        return span;
    }

    int[] lastSubjectTokens() {
        return lastTokens(spans);
    }

    /** The last position of each span [first, last + 1). */
    static int[] lastTokens(int[][] spans) {
        int[] last = new int[spans.length];
        for (int i = 0; i < spans.length; i++) {
            last[i] = spans[i][1] - 1;
        }
        return last;
    }
}
