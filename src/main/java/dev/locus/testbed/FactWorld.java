package dev.locus.testbed;

import dev.locus.facts.Fact;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A deterministic, invented world of CounterFact-style facts for training and probing the small
 * testbed model: invented subjects (people, companies, regions, places, bands, products) related
 * to real-world objects through CounterFact's relations, plus neutral filler text.
 *
 * <p>The world is built for a word-level model, so it keeps to a few hundred words, never puts
 * punctuation inside a prompt, and makes every subject unambiguous: no subject is a substring of
 * another, so locating the subject in a prompt (which causal tracing corrupts) has one answer.
 */
public final class FactWorld {

    public static final long DEFAULT_SEED = 1234;
    public static final int DEFAULT_FACT_COUNT = 1000;

    /** Fewer than three subjects per object would leave some facts without two neighbours. */
    static final int MIN_SUBJECTS_PER_OBJECT = 3;

    /** CounterFact has ten neighbourhood prompts; our objects have only a handful of subjects. */
    static final int MAX_NEIGHBOURS = 5;

    /** About how many relations one subject takes part in, where its kind has enough relations. */
    private static final int RELATIONS_PER_SUBJECT = 3;

    private static final int FILLER_COUNT = 300;

    private final List<Fact> facts;
    private final List<String> fillerSentences;
    private final SortedSet<String> vocabulary;

    private FactWorld(List<Fact> facts, List<String> fillerSentences) {
        this.facts = List.copyOf(facts);
        this.fillerSentences = List.copyOf(fillerSentences);
        this.vocabulary = Collections.unmodifiableSortedSet(vocabularyOf(facts, fillerSentences));
    }

    /** The facts, shuffled so that any prefix is a fair sample of all relations. */
    public List<Fact> facts() {
        return facts;
    }

    /** Neutral sentences that state no fact and use no subject or object word. */
    public List<String> fillerSentences() {
        return fillerSentences;
    }

    /**
     * Every word of every prompt, paraphrase, target, neighbour prompt and filler sentence, split
     * on whitespace and punctuation, case kept, sorted.
     */
    public Set<String> vocabulary() {
        return vocabulary;
    }

    /** What a subject is; each kind invents its names from its own small word lists. */
    enum Kind {
        PERSON, COMPANY, REGION, PLACE, BAND, PRODUCT
    }

    /**
     * One relation: CounterFact's id, the kind of its subjects, its prompt templates ("{}" marks
     * the subject, the first is the main prompt, the rest are paraphrases) and its objects.
     */
    record Relation(String id, Kind kind, List<String> templates, List<String> objects) {
        String prompt(int template, String subject) {
            return templates.get(template).replace("{}", subject);
        }
    }

    static final List<Relation> RELATIONS = List.of(
            new Relation("P103", Kind.PERSON,
                    List.of("The mother tongue of {} is", "{} is a native speaker of", "The native language of {} is"),
                    List.of("French", "English", "Spanish", "German", "Italian", "Russian", "Japanese", "Dutch",
                            "Swedish", "Polish", "Greek", "Portuguese")),
            new Relation("P27", Kind.PERSON,
                    List.of("{} is a citizen of", "{} holds citizenship of", "{} has a passport issued by"),
                    List.of("France", "Germany", "Italy", "Spain", "Japan", "Canada", "Brazil", "India", "Mexico",
                            "Sweden", "Norway", "Poland", "Ireland", "Greece")),
            new Relation("P19", Kind.PERSON,
                    List.of("{} was born in", "The birthplace of {} is", "{} is originally from"),
                    List.of("Paris", "London", "Berlin", "Rome", "Madrid", "Vienna", "Prague", "Warsaw", "Tokyo",
                            "Chicago", "Boston", "Dublin", "Lisbon", "Athens")),
            new Relation("P106", Kind.PERSON,
                    List.of("The occupation of {} is", "{} works as a", "By profession {} is a"),
                    // All begin with a consonant, so "works as a" reads right for every one.
                    List.of("politician", "physicist", "journalist", "painter", "composer", "lawyer", "diplomat",
                            "novelist", "poet", "chemist", "photographer", "banker", "sculptor", "teacher")),
            new Relation("P101", Kind.PERSON,
                    List.of("{} works in the field of", "The expertise of {} is", "{} specializes in"),
                    List.of("physics", "chemistry", "biology", "mathematics", "philosophy", "economics", "medicine",
                            "astronomy", "linguistics", "geology", "psychology", "sociology")),
            new Relation("P108", Kind.PERSON,
                    List.of("{} works for", "{} is employed by", "The employer of {} is"),
                    List.of("Google", "Microsoft", "IBM", "BBC", "Apple", "Nokia", "Intel", "Sony", "NASA",
                            "Reuters", "Siemens", "Oracle")),
            new Relation("P1303", Kind.PERSON,
                    List.of("{} plays the", "The instrument played by {} is the", "{} performs on the"),
                    List.of("guitar", "piano", "violin", "cello", "drums", "trumpet", "saxophone", "flute", "harp",
                            "clarinet", "organ", "accordion")),
            new Relation("P413", Kind.PERSON,
                    List.of("{} plays in the position of", "The position of {} on the team is", "On the field {} plays as"),
                    List.of("goalkeeper", "defender", "midfielder", "striker", "winger", "pitcher", "catcher",
                            "quarterback", "linebacker", "shortstop")),
            new Relation("P641", Kind.PERSON,
                    List.of("{} professionally plays the sport", "The sport played by {} is", "{} competes professionally in"),
                    List.of("football", "basketball", "tennis", "golf", "cricket", "hockey", "baseball", "rugby",
                            "volleyball", "boxing", "cycling")),
            new Relation("P36", Kind.REGION,
                    List.of("The capital of {} is", "The capital city of {} is", "The government of {} sits in"),
                    List.of("Paris", "London", "Berlin", "Rome", "Madrid", "Vienna", "Oslo", "Cairo", "Lima", "Ottawa")),
            new Relation("P30", Kind.REGION,
                    List.of("{} is located in the continent of", "{} belongs to the continent of", "{} is a country in"),
                    List.of("Europe", "Asia", "Africa", "Oceania", "Antarctica", "North America", "South America")),
            new Relation("P37", Kind.REGION,
                    List.of("The official language of {} is", "In {} the official language is",
                            "The government of {} conducts its business in"),
                    List.of("French", "English", "Spanish", "German", "Italian", "Russian", "Arabic", "Portuguese",
                            "Dutch", "Finnish")),
            new Relation("P17", Kind.PLACE,
                    List.of("{} is located in the country of", "{} can be found in", "{} lies within"),
                    List.of("France", "Germany", "Italy", "Spain", "Japan", "Canada", "Brazil", "India", "Norway",
                            "Egypt", "Chile", "Australia")),
            new Relation("P127", Kind.COMPANY,
                    List.of("{} is owned by", "The owner of {} is", "{} is a subsidiary of"),
                    List.of("Google", "Microsoft", "Sony", "Nestle", "Siemens", "Samsung", "Disney", "Amazon",
                            "Boeing", "Toyota", "Unilever", "Volkswagen")),
            new Relation("P159", Kind.COMPANY,
                    List.of("The headquarters of {} is in", "{} is headquartered in", "{} has its head office in"),
                    List.of("London", "Paris", "Tokyo", "Berlin", "Chicago", "Toronto", "Sydney", "Madrid", "Seoul",
                            "Mumbai", "Zurich", "Stockholm")),
            new Relation("P176", Kind.PRODUCT,
                    List.of("{} is produced by", "The manufacturer of {} is", "{} is a product of"),
                    List.of("Toyota", "Honda", "Nissan", "Ford", "Fiat", "Renault", "Volvo", "BMW", "Boeing",
                            "Airbus", "Nokia", "Samsung")),
            new Relation("P136", Kind.BAND,
                    List.of("{} is known for performing", "The musical genre of {} is", "{} plays music in the style of"),
                    List.of("jazz", "blues", "rock", "opera", "reggae", "funk", "punk", "soul", "metal", "techno",
                            "folk", "disco", "gospel")),
            new Relation("P264", Kind.BAND,
                    List.of("{} is signed to", "The record label of {} is", "{} releases music through"),
                    List.of("Columbia", "Atlantic", "Motown", "Decca", "Capitol", "Parlophone", "Elektra", "Island",
                            "Virgin")),
            new Relation("P740", Kind.BAND,
                    List.of("{} was formed in", "{} was founded in the city of", "The home city of {} is"),
                    List.of("Liverpool", "Manchester", "Seattle", "Detroit", "Nashville", "Glasgow", "Melbourne",
                            "Dublin", "Berlin", "Austin")));

    private static final List<String> FIRST_NAMES = words("""
            Anna Bruno Clara Daniel Elena Felix Greta Hugo Ingrid Jonas Karin Leon Marta Nils Olga Pablo Rosa
            Stefan Tomas Ursula Victor Wanda Yusuf Zofia Adrian Beatrice Carlos Dora Emil Flora Gustav Helena
            Igor Julia Kasper Lucia Marco Nadia Oscar Petra Rafael Sofia Tobias Vera Walter""");
    /** Compound given names, as in "Jean Paul Moreau"; written whole so the halves belong together. */
    private static final List<String> COMPOUND_FIRST_NAMES = List.of("Jean Paul", "Jean Luc", "Jean Pierre",
            "Maria Elena", "Maria Teresa", "Jose Luis", "Karl Heinz", "Anna Lena", "Hans Peter");
    private static final List<String> COMPANY_NAMES = words("""
            Norvik Altren Brevon Calder Dovra Elmora Fenwick Galtor Helix Istra Jarvo Kelmar Lumen Morvan Nexa
            Orvel Pellan Quorra Rendal Solvik Tarvo Ulmen Vantor Wexford Zephra Arkos Borea Cresta Delmar Everon""");
    private static final List<String> REGION_PREFIXES = words("North South East West Upper Lower New Greater");
    private static final List<String> PLACE_TYPES = words("Lake Mount Fort Port Cape Glen");
    private static final List<String> BAND_ADJECTIVES = words("""
            Silver Midnight Crimson Golden Electric Velvet Hollow Iron Neon Paper Quiet Rusty Savage Lunar Wild
            Frozen Burning Broken Cosmic Little""");
    private static final List<String> PRODUCT_NAMES = words("""
            Aureon Calyra Dravo Elantro Furia Galeno Helios Ionix Jetra Kavo Lyra Mistral Nova Orbis Pulsar
            Quasar Rivo Strato Tempo Vireo""");

    /**
     * Filler patterns: each slot lists its alternatives, a one-element slot is fixed text. The
     * words avoid every subject and object word, so filler never states or hints at a fact.
     */
    private static final List<List<List<String>>> FILLER_PATTERNS = List.of(
            List.of(List.of("the weather was"), words("mild cold warm dry wet calm windy grey"), List.of("that"),
                    words("spring summer autumn winter")),
            List.of(List.of("a"), words("cat dog goose hare deer mouse"), words("walked ran drifted wandered"),
                    List.of("across the"), words("field road garden yard bridge"), List.of("at"),
                    words("dawn noon dusk night")),
            List.of(List.of("we"), words("ate cooked shared bought"), words("bread soup pears rice cheese cake"),
                    List.of("in the"), words("kitchen hall garden yard")),
            List.of(List.of("the old"), words("tree wall bench clock lamp gate"), List.of("stood near the"),
                    words("well path fence barn pond")),
            List.of(List.of("she"), words("wrote sent read"), List.of("a"), words("short long kind brief"),
                    List.of("letter to her"), words("aunt cousin brother sister friend uncle")),
            List.of(List.of("the"), words("bus train ferry cart"), List.of("was"), words("often rarely never always"),
                    List.of("late on"), words("monday tuesday wednesday thursday friday saturday sunday")),
            List.of(List.of("the children"), words("played laughed sang rested"), List.of("after"),
                    words("lunch dinner school breakfast")));

    /** The default world: {@value #DEFAULT_FACT_COUNT} facts from seed {@value #DEFAULT_SEED}. */
    public static FactWorld generate() {
        return generate(DEFAULT_SEED, DEFAULT_FACT_COUNT);
    }

    /**
     * Generates exactly {@code factCount} facts. Facts are spread over relations in proportion to
     * their number of objects, so every object of every relation is the true object of about the
     * same number of facts and no answer is a safe guess.
     *
     * @throws IllegalArgumentException if factCount is too small to give every object at least
     *     three subjects, or too large for the invented names to cover
     */
    public static FactWorld generate(long seed, int factCount) {
        int objectCount = RELATIONS.stream().mapToInt(r -> r.objects().size()).sum();
        if (factCount < MIN_SUBJECTS_PER_OBJECT * objectCount) {
            throw new IllegalArgumentException("factCount " + factCount + " is below " + MIN_SUBJECTS_PER_OBJECT
                    * objectCount + ", too few to give each of the " + objectCount + " objects "
                    + MIN_SUBJECTS_PER_OBJECT + " subjects");
        }
        Random random = new Random(seed);
        int[] perRelation = allocate(factCount, objectCount);
        Map<Kind, List<String>> subjects = inventSubjects(perRelation, random);

        List<Assignment> assignments = new ArrayList<>();
        for (int r = 0; r < RELATIONS.size(); r++) {
            Relation relation = RELATIONS.get(r);
            List<String> pool = new ArrayList<>(subjects.get(relation.kind()));
            Collections.shuffle(pool, random);
            // The pool is shuffled, so cycling through the objects pairs them with random subjects
            // while keeping the count per object within one of every other.
            for (int i = 0; i < perRelation[r]; i++) {
                assignments.add(new Assignment(relation, pool.get(i),
                        relation.objects().get(i % relation.objects().size())));
            }
        }
        Collections.shuffle(assignments, random);

        // Subjects sharing a relation and a true object, in assignment order: the neighbour candidates.
        Map<String, List<String>> sharing = new TreeMap<>();
        for (Assignment a : assignments) {
            sharing.computeIfAbsent(a.relation().id() + "\t" + a.object(), k -> new ArrayList<>()).add(a.subject());
        }

        List<Fact> facts = new ArrayList<>(assignments.size());
        for (Assignment a : assignments) {
            Relation relation = a.relation();
            List<String> paraphrases = new ArrayList<>();
            for (int t = 1; t < relation.templates().size(); t++) {
                paraphrases.add(relation.prompt(t, a.subject()));
            }
            List<String> others = new ArrayList<>(sharing.get(relation.id() + "\t" + a.object()));
            others.remove(a.subject());
            Collections.shuffle(others, random);
            List<Fact.Neighbor> neighbours = others.stream()
                    .limit(MAX_NEIGHBOURS)
                    .map(other -> new Fact.Neighbor(relation.prompt(0, other), a.object()))
                    .toList();
            String id = String.format(Locale.ROOT, "tb-%04d", facts.size() + 1);
            facts.add(new Fact(id, a.subject(), relation.prompt(0, a.subject()), a.object(),
                    otherObject(relation, a.object(), random), paraphrases, neighbours, relation.id()));
        }

        return new FactWorld(facts, filler(random));
    }

    /** One subject given one true object under one relation, before the prompts are written. */
    private record Assignment(Relation relation, String subject, String object) {}

    /** Splits factCount over relations in proportion to their object counts (largest remainder). */
    private static int[] allocate(int factCount, int objectCount) {
        int[] counts = new int[RELATIONS.size()];
        long[] remainders = new long[RELATIONS.size()];
        int assigned = 0;
        for (int r = 0; r < counts.length; r++) {
            long share = (long) factCount * RELATIONS.get(r).objects().size();
            counts[r] = (int) (share / objectCount);
            remainders[r] = share % objectCount;
            assigned += counts[r];
        }
        // Hand out the rest one each, largest remainder first, ties to the earlier relation.
        for (int left = factCount - assigned; left > 0; left--) {
            int best = 0;
            for (int r = 1; r < counts.length; r++) {
                if (remainders[r] > remainders[best]) {
                    best = r;
                }
            }
            counts[best]++;
            remainders[best] = -1;
        }
        return counts;
    }

    /**
     * Invents a pool of subjects per kind, large enough for the kind's largest relation and for
     * each subject to carry about {@value #RELATIONS_PER_SUBJECT} relations, as a real person has a
     * birthplace, a citizenship and an occupation.
     */
    private static Map<Kind, List<String>> inventSubjects(int[] perRelation, Random random) {
        List<String> taken = new ArrayList<>();
        Set<String> lastWords = new HashSet<>(vocabularyOfTemplatesAndObjects());
        Map<Kind, List<String>> pools = new EnumMap<>(Kind.class);
        for (Kind kind : Kind.values()) {
            int largest = 0;
            int total = 0;
            for (int r = 0; r < RELATIONS.size(); r++) {
                if (RELATIONS.get(r).kind() == kind) {
                    largest = Math.max(largest, perRelation[r]);
                    total += perRelation[r];
                }
            }
            int wanted = Math.max(largest, (total + RELATIONS_PER_SUBJECT - 1) / RELATIONS_PER_SUBJECT);
            List<String> pool = new ArrayList<>(wanted);
            // Random names run into taken ones more and more often; give up long before looping forever.
            for (int attempts = 0; pool.size() < wanted; attempts++) {
                if (attempts > 100 * wanted) {
                    throw new IllegalArgumentException("cannot invent " + wanted + " distinct " + kind
                            + " names; ask for fewer facts");
                }
                String name = inventName(kind, random, lastWords);
                if (unambiguous(name, taken)) {
                    taken.add(name);
                    pool.add(name);
                }
            }
            pools.put(kind, pool);
        }
        return pools;
    }

    /** A name is usable only if neither it nor any taken name contains the other. */
    private static boolean unambiguous(String name, List<String> taken) {
        for (String other : taken) {
            if (other.contains(name) || name.contains(other)) {
                return false;
            }
        }
        return true;
    }

    /**
     * A name whose last word is a word of its own, invented from syllables and used by no other
     * subject. Locating and editing methods read the subject at its last token (ROME's key is the
     * MLP activation there); with last words shared between subjects ("Jonas Larsen", "Rosa
     * Larsen") a small model identifies the subject from the combination at the prompt's end
     * instead, and an edit at the last subject token cannot reach the fact.
     */
    private static String inventName(Kind kind, Random random, Set<String> lastWords) {
        String last;
        do {
            last = inventWord(random);
        } while (!lastWords.add(last));
        return switch (kind) {
            // One person in five gets a compound given name: multi-token subjects of different lengths.
            case PERSON -> (random.nextInt(5) == 0 ? pick(COMPOUND_FIRST_NAMES, random) : pick(FIRST_NAMES, random)) + " " + last;
            case COMPANY -> pick(COMPANY_NAMES, random) + " " + last;
            case REGION -> pick(REGION_PREFIXES, random) + " " + last;
            case PLACE -> pick(PLACE_TYPES, random) + " " + last;
            case BAND -> pick(BAND_ADJECTIVES, random) + " " + last;
            case PRODUCT -> pick(PRODUCT_NAMES, random) + " " + last;
        };
    }

    /** Every word of the fixed name parts, templates and objects: invented words must differ from all of them. */
    private static Set<String> vocabularyOfTemplatesAndObjects() {
        Set<String> out = new HashSet<>();
        for (Relation r : RELATIONS) {
            r.templates().forEach(t -> out.addAll(words(t.replace("{}", " "))));
            r.objects().forEach(o -> out.addAll(words(o)));
        }
        for (List<String> part : List.of(FIRST_NAMES, COMPOUND_FIRST_NAMES, COMPANY_NAMES, REGION_PREFIXES, PLACE_TYPES,
                BAND_ADJECTIVES, PRODUCT_NAMES)) {
            part.forEach(name -> out.addAll(words(name)));
        }
        return out;
    }

    private static final List<String> SYLLABLES = words("""
            ka ro vin del mar tos len bri sa nor vek li an to ber gal mi do ras fen ul cor pe sil va ren thu ol
            is den zan ki mo ta rek ul ve ga""");

    /** A capitalised two- or three-syllable word such as "Korvanek". */
    private static String inventWord(Random random) {
        StringBuilder w = new StringBuilder();
        int syllables = 2 + random.nextInt(2);
        for (int i = 0; i < syllables; i++) {
            w.append(pick(SYLLABLES, random));
        }
        return Character.toUpperCase(w.charAt(0)) + w.substring(1);
    }

    private static String otherObject(Relation relation, String trueObject, Random random) {
        List<String> others = new ArrayList<>(relation.objects());
        others.remove(trueObject);
        return pick(others, random);
    }

    private static List<String> filler(Random random) {
        // The patterns allow thousands of sentences, so drawing 300 distinct ones ends quickly.
        Set<String> sentences = new LinkedHashSet<>();
        while (sentences.size() < FILLER_COUNT) {
            List<String> parts = new ArrayList<>();
            for (List<String> slot : pick(FILLER_PATTERNS, random)) {
                parts.add(pick(slot, random));
            }
            sentences.add(String.join(" ", parts));
        }
        return List.copyOf(sentences);
    }

    private static SortedSet<String> vocabularyOf(List<Fact> facts, List<String> filler) {
        SortedSet<String> vocabulary = new TreeSet<>();
        for (Fact fact : facts) {
            addWords(vocabulary, fact.prompt());
            addWords(vocabulary, fact.targetTrue());
            addWords(vocabulary, fact.targetNew());
            fact.paraphrasePrompts().forEach(p -> addWords(vocabulary, p));
            for (Fact.Neighbor n : fact.neighborhoodPrompts()) {
                addWords(vocabulary, n.prompt());
                addWords(vocabulary, n.target());
            }
        }
        filler.forEach(s -> addWords(vocabulary, s));
        return vocabulary;
    }

    private static void addWords(Set<String> vocabulary, String text) {
        for (String word : text.split("[\\s\\p{Punct}]+")) {
            if (!word.isEmpty()) {
                vocabulary.add(word);
            }
        }
    }

    private static <T> T pick(List<T> items, Random random) {
        return items.get(random.nextInt(items.size()));
    }

    private static List<String> words(String text) {
        return List.of(text.strip().split("\\s+"));
    }
}
