package dev.locus.editing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.locus.facts.Fact;
import dev.locus.model.EnteringStreams;
import dev.locus.model.Hooks;
import dev.locus.model.LanguageModel;
import dev.locus.model.TargetScoring;
import dev.locus.model.TextTokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Measures edits as ALGORITHMS.md §3–4 define them: per problem, the target (o_new, o_noise or
 * o_true), the prompts scored before and after (rewrite, paraphrases, neighbours), and the
 * scores. The subject noise of Tracing Reversal and Fact Forcing is the tracing noise: σ and a
 * seed per fact. Neighbour prompts are about other subjects and are scored without noise.
 *
 * <p>With {@link Essence.Settings#enabled essence metrics} on, {@link #setup} also samples the fact's essence texts from
 * the unedited model (seeded by {@link Essence#seed} from this evaluator's seed and the fact), and every successful edit
 * gets target_score, essence and fluency, measured while the edit is applied, after the probabilities.
 */
public final class EditEvaluator {
    private final LanguageModel lm;
    private final double sigma;
    private final long seed;
    private final Integer scoredPrompts;
    private final Double scoreFloor;
    private final Essence essence;

    /** Without the essence metrics: results exactly as before them. */
    public EditEvaluator(LanguageModel lm, double sigma, long seed) {
        this(lm, sigma, seed, Essence.Settings.off());
    }

    public EditEvaluator(LanguageModel lm, double sigma, long seed, Essence.Settings essence) {
        this(lm, sigma, seed, essence, null, null);
    }

    /**
     * @param scoredPrompts the first this many paraphrase and neighbourhood prompts make their scores (null: all)
     * @param scoreFloor    raising problems' rewrite and paraphrase scores are at least this (null: no floor)
     */
    public EditEvaluator(LanguageModel lm, double sigma, long seed, Essence.Settings essence, Integer scoredPrompts, Double scoreFloor) {
        this.lm = lm;
        this.sigma = sigma;
        this.seed = seed;
        this.essence = essence.enabled() ? new Essence(lm, essence) : null;
        this.scoredPrompts = scoredPrompts;
        this.scoreFloor = scoreFloor;
    }

    /** A fact under one problem, with everything measured before any edit ({@code essence} null when off). */
    public record Setup(Fact fact, EditingProblem problem, EditTask task, double rewritePre, List<Double> paraphrasePre,
                        List<Double> neighborhoodPre, Essence.Before essence) {
        public Setup(Fact fact, EditingProblem problem, EditTask task, double rewritePre, List<Double> paraphrasePre,
                     List<Double> neighborhoodPre) {
            this(fact, problem, task, rewritePre, paraphrasePre, neighborhoodPre, null);
        }
    }

    public Setup setup(Fact fact, EditingProblem problem) {
        SubjectNoise noise = new SubjectNoise(seed, sigma, 2 * lm.tokenizer().encode(fact.subject()).length() + 2, lm.dimensions().width());
        String target = switch (problem) {
            case ERROR_INJECTION -> {
                if (fact.traceOnly()) { // e.g. a ROME known fact: there is nothing to inject
                    throw new IllegalArgumentException("error injection needs a counterfactual target; fact " + fact.id() + " is trace-only");
                }
                yield fact.targetNew();
            }
            case TRACING_REVERSAL -> noisedGreedy(fact, noise);
            default -> fact.targetTrue();
        };
        EditTask task = new EditTask(fact.prompt(), fact.subject(), target, problem.raises(),
                problem.noisedSubject() ? noise : null);
        return new Setup(fact, problem, task, subjectPrompts(task, List.of(fact.prompt())).get(0),
                subjectPrompts(task, fact.paraphrasePrompts()), neighbours(fact, target),
                essence == null ? null : essence.before(task, Essence.seed(seed, fact.id())));
    }

    /** Applies the edit, measures it, undoes it. A failing edit gives a "failed" result, never an exception. */
    public EditResult evaluate(Setup s, Editor editor, int layer, double tracingValue) {
        return evaluate(s, editor.name(), editor.oneAtATime(s.task()), layer, tracingValue);
    }

    /** As {@link #evaluate(Setup, Editor, int, double)}, the edit made by {@code batch} (of the setup's task, by {@code method}). */
    public EditResult evaluate(Setup s, String method, Editor.Batch batch, int layer, double tracingValue) {
        return evaluate(s, method, batch, layer, tracingValue, null);
    }

    /**
     * As {@link #evaluate(Setup, String, Editor.Batch, int, double)}, the prompts after the edit scored by {@code prepared}
     * ({@link #prepare} of the same setup), or, when it is null, one pass per kind of prompt from the embeddings (the
     * reference).
     */
    public EditResult evaluate(Setup s, String method, Editor.Batch batch, int layer, double tracingValue, Prepared prepared) {
        long start = System.nanoTime();
        String problem = s.problem().label();
        try (Editor.Applied applied = batch.apply(layer)) {
            double rewritePost;
            List<Double> paraphrasePost;
            List<Double> neighborhoodPost;
            if (prepared == null) {
                rewritePost = subjectPrompts(s.task(), List.of(s.fact().prompt())).get(0);
                paraphrasePost = subjectPrompts(s.task(), s.fact().paraphrasePrompts());
                neighborhoodPost = neighbours(s.fact(), s.task().target());
            } else {
                List<Double> post = prepared.probabilities(Arrays.stream(applied.layers()).min().orElse(0));
                int paraphrases = s.fact().paraphrasePrompts().size();
                rewritePost = post.get(0);
                paraphrasePost = post.subList(1, 1 + paraphrases);
                neighborhoodPost = post.subList(1 + paraphrases, post.size());
            }
            double rewrite = rewriteScore(s.problem(), s.rewritePre(), rewritePost);
            int paraphrases = scored(paraphrasePost.size());
            double paraphrase = 0;
            for (int i = 0; i < paraphrases; i++) {
                paraphrase += rewriteScore(s.problem(), s.paraphrasePre().get(i), paraphrasePost.get(i)) / paraphrases;
            }
            int neighbours = scored(neighborhoodPost.size());
            double neighborhood = 0;
            for (int i = 0; i < neighbours; i++) {
                neighborhood += EditingProblem.neighbourhoodScore(s.neighborhoodPre().get(i), neighborhoodPost.get(i)) / neighbours;
            }
            Essence.Before before = s.essence();
            Essence.After after = before == null ? null : essence.after(s.task(), before);
            return new EditResult(s.fact().id(), method, problem, layer, applied.layers(), s.task().target(), s.rewritePre(),
                    rewritePost, s.paraphrasePre(), paraphrasePost, s.neighborhoodPre(), neighborhoodPost, rewrite, paraphrase,
                    neighborhood, (rewrite + paraphrase + neighborhood) / 3, tracingValue, applied.steps(), applied.loss(),
                    (System.nanoTime() - start) / 1_000_000, "ok", null,
                    before == null ? null : EditResult.targetScore(rewrite, paraphrase, neighborhood),
                    before == null ? null : before.seed(),
                    before == null ? null : before.perplexity(),
                    before == null ? null : after.perplexity(),
                    before == null ? null : after.perplexity() - before.perplexity(),
                    before == null ? null : before.fluency(),
                    before == null ? null : after.fluency());
        } catch (RuntimeException e) {
            return new EditResult(s.fact().id(), method, problem, layer, new int[0], s.task().target(), s.rewritePre(),
                    Double.NaN, s.paraphrasePre(), List.of(), s.neighborhoodPre(), List.of(), Double.NaN, Double.NaN,
                    Double.NaN, Double.NaN, tracingValue, 0, Double.NaN, (System.nanoTime() - start) / 1_000_000,
                    "failed", e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    /**
     * The setup's prompts as one batch for scoring edits of its task: the fact's prompt, its paraphrases (noised where the
     * task says so) and its neighbours, with the streams entering each block of the model as it is now (unedited) kept.
     * Close it to free them.
     */
    public Prepared prepare(Setup s) {
        List<String> prompts = new ArrayList<>();
        prompts.add(s.fact().prompt());
        prompts.addAll(s.fact().paraphrasePrompts());
        List<long[]> ids = new ArrayList<>();
        List<long[]> targets = new ArrayList<>();
        List<int[]> spans = new ArrayList<>();
        for (String prompt : prompts) {
            TextTokenizer.Tokens tokens = lm.tokenize(prompt);
            ids.add(tokens.ids());
            targets.add(lm.targetIds(prompt, s.task().target()));
            spans.add(EditPrompts.subjectSpan(tokens, prompt, s.task().subject(), 0));
        }
        for (Fact.Neighbor n : s.fact().neighborhoodPrompts()) {
            ids.add(lm.tokenize(n.prompt()).ids());
            targets.add(lm.targetIds(n.prompt(), s.task().target()));
            spans.add(new int[] {0, 0}); // other subjects: no noise
        }
        return new Prepared(ids, targets, spans.toArray(int[][]::new), s.task());
    }

    /**
     * A setup's prompts scored after an edit in one pass, from the streams of the unedited model entering the edit's lowest
     * layer ({@link EnteringStreams}): what batched studies evaluate with. Equal to the reference's three passes from the
     * embeddings up to float reassociation (the rows share one padded length).
     */
    public final class Prepared implements AutoCloseable {
        private final NDManager m = lm.manager().newSubManager();
        private final TargetScoring scoring;
        private final EnteringStreams streams;

        private Prepared(List<long[]> ids, List<long[]> targets, int[][] spans, EditTask task) {
            scoring = TargetScoring.of(m, ids, targets, false, lm.dimensions().contextLength());
            int length = (int) scoring.inputs().ids().getShape().get(1);
            streams = new EnteringStreams(lm.model(), m, pass -> {
                NDArray tokens = scoring.inputs().ids().duplicate();
                tokens.attach(pass); // the pass's arrays follow the tokens' manager, freed after it
                return lm.model().embed(tokens, task.corruption(pass, spans, length));
            }, lm.dimensions().layers());
        }

        /** p(target) of every prompt, in {@link #prepare}'s order, with the model as it is now, unedited below {@code firstEdited}. */
        List<Double> probabilities(int firstEdited) {
            try (NDManager pass = m.newSubManager()) {
                NDArray x = streams.run(pass, firstEdited, lm.dimensions().layers() - 1, Hooks.none());
                return Arrays.stream(scoring.probabilities(lm.model().head(x))).boxed().toList();
            }
        }

        @Override
        public void close() {
            m.close();
        }
    }

    private double rewriteScore(EditingProblem problem, double pre, double post) {
        double score = problem.rewriteScore(pre, post);
        return scoreFloor != null && problem.raises() ? Math.max(scoreFloor, score) : score;
    }

    /** How many of {@code available} prompts the score averages. */
    private int scored(int available) {
        return scoredPrompts == null ? available : Math.min(available, scoredPrompts);
    }

    /** p(target) after prompts that contain the task's subject, noised where the task says so. */
    private List<Double> subjectPrompts(EditTask task, List<String> prompts) {
        List<long[]> ids = new ArrayList<>();
        List<long[]> targets = new ArrayList<>();
        int[][] spans = new int[prompts.size()][];
        for (int i = 0; i < prompts.size(); i++) {
            TextTokenizer.Tokens tokens = lm.tokenize(prompts.get(i));
            spans[i] = EditPrompts.subjectSpan(tokens, prompts.get(i), task.subject(), 0);
            ids.add(tokens.ids());
            targets.add(lm.targetIds(prompts.get(i), task.target()));
        }
        return probabilities(ids, targets, (m, length) -> task.corruption(m, spans, length));
    }

    private List<Double> neighbours(Fact fact, String target) {
        List<long[]> ids = new ArrayList<>();
        List<long[]> targets = new ArrayList<>();
        fact.neighborhoodPrompts().forEach(n -> {
            ids.add(lm.tokenize(n.prompt()).ids());
            targets.add(lm.targetIds(n.prompt(), target));
        });
        return probabilities(ids, targets, (m, length) -> Hooks.none());
    }

    /** p(targets[i] | prompts[i]), each target as the model sees it after its prompt. */
    private List<Double> probabilities(List<long[]> prompts, List<long[]> targets, LanguageModel.PassHooks hooks) {
        if (prompts.isEmpty()) {
            return List.of();
        }
        try (NDManager m = lm.manager().newSubManager()) {
            TargetScoring scoring = TargetScoring.of(m, prompts, targets, false, lm.dimensions().contextLength());
            Hooks h = hooks.at(m, (int) scoring.inputs().ids().getShape().get(1));
            return Arrays.stream(scoring.probabilities(lm.model().forward(scoring.inputs().ids(), h))).boxed().toList();
        }
    }

    /** o_noise: the greedy continuation (as long as o_true) with the subject corrupted. */
    private String noisedGreedy(Fact fact, SubjectNoise noise) {
        TextTokenizer.Tokens tokens = lm.tokenize(fact.prompt());
        int[] span = EditPrompts.subjectSpan(tokens, fact.prompt(), fact.subject(), 0);
        int count = lm.targetIds(fact.prompt(), fact.targetTrue()).length;
        long[] continuation = lm.generateGreedy(tokens.ids(), count, (m, length) -> noise.hooks(m, new int[][] {span}, length));
        return lm.decode(continuation).strip();
    }
}
