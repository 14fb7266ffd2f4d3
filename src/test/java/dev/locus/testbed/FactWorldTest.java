package dev.locus.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.locus.facts.Fact;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class FactWorldTest {

    private static final FactWorld WORLD = FactWorld.generate();

    @Test
    void defaultWorldHasEnoughFactsAndRelations() {
        assertEquals(FactWorld.DEFAULT_FACT_COUNT, WORLD.facts().size());
        assertTrue(WORLD.facts().size() >= 1000);
        assertTrue(relations().size() >= 14, "relations: " + relations().keySet());
    }

    @Test
    void generatesExactlyTheFactsAskedFor() {
        assertEquals(1500, FactWorld.generate(7, 1500).facts().size());
    }

    @Test
    void tooFewFactsForThreeSubjectsPerObjectIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> FactWorld.generate(1, 100));
    }

    @Test
    void sameSeedGivesTheSameWorldAndAnotherSeedDoesNot() {
        FactWorld again = FactWorld.generate(FactWorld.DEFAULT_SEED, FactWorld.DEFAULT_FACT_COUNT);
        assertEquals(WORLD.facts(), again.facts());
        assertEquals(WORLD.fillerSentences(), again.fillerSentences());
        assertEquals(WORLD.vocabulary(), again.vocabulary());
        assertNotEquals(WORLD.facts(), FactWorld.generate(FactWorld.DEFAULT_SEED + 1, FactWorld.DEFAULT_FACT_COUNT).facts());
    }

    @Test
    void idsAreUniqueAndSubjectRelationPairsAreNotRepeated() {
        Set<String> ids = new HashSet<>();
        Set<String> pairs = new HashSet<>();
        for (Fact fact : WORLD.facts()) {
            assertTrue(fact.id().matches("tb-\\d{4}"), fact.id());
            assertTrue(ids.add(fact.id()), "duplicate id " + fact.id());
            assertTrue(pairs.add(fact.subject() + "|" + fact.relationId()), "duplicate pair in " + fact.id());
        }
    }

    @Test
    void subjectsAreUnambiguous() {
        List<String> subjects = WORLD.facts().stream().map(Fact::subject).distinct().toList();
        for (String subject : subjects) {
            for (String other : subjects) {
                assertTrue(subject.equals(other) || !other.contains(subject), subject + " is inside " + other);
            }
        }
        for (Fact fact : WORLD.facts()) {
            assertEquals(1, occurrences(fact.prompt(), fact.subject()), fact.prompt());
            for (String paraphrase : fact.paraphrasePrompts()) {
                assertEquals(1, occurrences(paraphrase, fact.subject()), paraphrase);
            }
            for (Fact.Neighbor neighbour : fact.neighborhoodPrompts()) {
                assertEquals(0, occurrences(neighbour.prompt(), fact.subject()), neighbour.prompt());
            }
        }
    }

    @Test
    void subjectsIncludeTwoAndThreeWordNames() {
        Set<Integer> lengths = WORLD.facts().stream()
                .map(f -> f.subject().split(" ").length)
                .collect(Collectors.toSet());
        assertTrue(lengths.contains(2) && lengths.contains(3), "subject lengths " + lengths);
    }

    @Test
    void promptEndsBeforeTheObject() {
        for (Fact fact : WORLD.facts()) {
            assertFalse(fact.prompt().contains(fact.targetTrue()), fact.prompt());
            assertFalse(fact.prompt().endsWith(" "), fact.prompt());
            assertTrue(fact.targetTrue().split(" ").length <= 2, fact.targetTrue());
        }
    }

    @Test
    void newTargetIsAnotherObjectOfTheSameRelation() {
        Map<String, Map<String, Integer>> relations = relations();
        for (Fact fact : WORLD.facts()) {
            assertNotEquals(fact.targetTrue(), fact.targetNew(), fact.id());
            assertTrue(relations.get(fact.relationId()).containsKey(fact.targetNew()),
                    fact.targetNew() + " is not an object of " + fact.relationId());
        }
    }

    @Test
    void everyFactHasParaphrasesOfItsOwnSubject() {
        for (Fact fact : WORLD.facts()) {
            assertTrue(fact.paraphrasePrompts().size() >= 2, fact.id());
            assertEquals(fact.paraphrasePrompts().size(), Set.copyOf(fact.paraphrasePrompts()).size(), fact.id());
            assertFalse(fact.paraphrasePrompts().contains(fact.prompt()), fact.id());
        }
    }

    @Test
    void neighboursShareRelationAndObjectButNotSubject() {
        Map<String, Fact> byPrompt = new HashMap<>();
        WORLD.facts().forEach(f -> byPrompt.put(f.prompt(), f));
        for (Fact fact : WORLD.facts()) {
            assertTrue(fact.neighborhoodPrompts().size() >= 2, fact.id());
            for (Fact.Neighbor neighbour : fact.neighborhoodPrompts()) {
                Fact other = byPrompt.get(neighbour.prompt());
                assertTrue(other != null, "neighbour prompt is no fact's prompt: " + neighbour.prompt());
                assertEquals(fact.relationId(), other.relationId());
                assertEquals(fact.targetTrue(), other.targetTrue());
                assertEquals(fact.targetTrue(), neighbour.target());
                assertNotEquals(fact.subject(), other.subject());
            }
        }
    }

    @Test
    void trueObjectsAreBalancedWithinEachRelation() {
        relations().forEach((relation, counts) -> {
            assertTrue(counts.size() >= 5 && counts.size() <= 20, relation + " has " + counts.size() + " objects");
            int min = counts.values().stream().mapToInt(Integer::intValue).min().orElseThrow();
            int max = counts.values().stream().mapToInt(Integer::intValue).max().orElseThrow();
            assertTrue(min >= FactWorld.MIN_SUBJECTS_PER_OBJECT, relation + " min " + min);
            assertTrue(max - min <= 1, relation + " counts " + counts);
        });
    }

    @Test
    void vocabularyCoversEveryWordAndStaysSmall() {
        Set<String> vocabulary = WORLD.vocabulary();
        List<String> texts = new ArrayList<>(WORLD.fillerSentences());
        for (Fact fact : WORLD.facts()) {
            texts.add(fact.prompt());
            texts.add(fact.targetTrue());
            texts.add(fact.targetNew());
            texts.addAll(fact.paraphrasePrompts());
            fact.neighborhoodPrompts().forEach(n -> texts.add(n.prompt() + " " + n.target()));
        }
        for (String text : texts) {
            assertTrue(text.matches("[A-Za-z ]+"), "punctuation in: " + text);
            for (String word : text.split(" ")) {
                assertTrue(vocabulary.contains(word), word + " missing from the vocabulary");
            }
        }
        // One invented last word per subject: about 450 of the words; the rest are shared.
        assertTrue(vocabulary.size() <= 1200, "vocabulary size " + vocabulary.size());
    }

    @Test
    void fillerIsDistinctAndStatesNoFact() {
        List<String> filler = WORLD.fillerSentences();
        assertTrue(filler.size() >= 200, "filler sentences: " + filler.size());
        assertEquals(filler.size(), Set.copyOf(filler).size());
        Set<String> factWords = new HashSet<>();
        for (Fact fact : WORLD.facts()) {
            for (String text : List.of(fact.subject(), fact.targetTrue(), fact.targetNew())) {
                for (String word : text.split(" ")) {
                    factWords.add(word.toLowerCase(Locale.ROOT));
                }
            }
        }
        for (String sentence : filler) {
            for (String word : sentence.split(" ")) {
                assertFalse(factWords.contains(word.toLowerCase(Locale.ROOT)), "'" + word + "' in filler: " + sentence);
            }
        }
    }

    /** Relation id to object to the number of facts with that true object. */
    private static Map<String, Map<String, Integer>> relations() {
        Map<String, Map<String, Integer>> relations = new TreeMap<>();
        for (Fact fact : WORLD.facts()) {
            relations.computeIfAbsent(fact.relationId(), r -> new TreeMap<>()).merge(fact.targetTrue(), 1, Integer::sum);
        }
        return relations;
    }

    private static int occurrences(String text, String part) {
        int count = 0;
        for (int at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + 1)) {
            count++;
        }
        return count;
    }
}
