package dev.locus.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;

/** The service's configuration (prefix {@code locus}); every key and its default is here. */
@ConfigMapping(prefix = "locus")
public interface LocusConfig {

    /** worker, aggregator or both. */
    @WithDefault("both")
    String role();

    Topics topics();

    Model model();

    Grid grid();

    Tracing tracing();

    Editing editing();

    Limits limits();

    Aggregator aggregator();

    Api api();

    Demo demo();

    Worker worker();

    interface Worker {
        /**
         * deployed: evaluate the model this worker is deployed with (locus.model.*), facts from consumer group
         * locus-worker-NAME. announced: evaluate the versions announced on locus.topics.models, one at a time, each in
         * its own consumer group (locus-version-NAME|VERSION); locus.model.* then only gives defaults (device, known models).
         */
        @WithDefault("deployed")
        String versions();

        /**
         * Announced versions: facts a worker studies with one version before it looks again for the version with the
         * fewest facts done (0 = until this version has none left). Small slices interleave versions (the demo's 3),
         * at one model load per switch; large ones suit checkpoints that take minutes to load.
         */
        @WithDefault("0")
        int versionSliceFacts();

        /**
         * Kafka static group membership (group.instance.id) for this worker's consumers: stable across restarts (in
         * Kubernetes, the pod name, which a container restart keeps), so a worker that crashes and comes back within
         * the session timeout has its partitions again at once instead of after the timeout. Unique per worker. The
         * price: a worker that is gone for good (a new pod name) holds its partitions until the session timeout
         * (45 s), and one that stops does not hand them over before then. Absent = dynamic membership.
         */
        Optional<String> instanceId();
    }

    interface Topics {
        @WithDefault("locus.facts")
        String facts();

        @WithDefault("locus.results")
        String results();

        @WithDefault("locus.facts.dlq")
        String deadLetters();

        @WithDefault("locus.stats")
        String stats();

        /** Model-version announcements, compacted, keyed name|version (schemas/model-announcement.schema.json). */
        @WithDefault("locus.models")
        String models();

        /** Create missing topics at start (partitions below); off where an operator manages topics. */
        @WithDefault("true")
        boolean create();

        @WithDefault("3")
        int factPartitions();
    }

    interface Model {
        /**
         * Hugging Face checkpoint directory (gpt2, llama, mistral, qwen2, gptj or gpt_neox), or a shipped testbed's name
         * (testbed, testbed-llama); absent = testbed.
         */
        Optional<Path> dir();

        Optional<String> name();

        /**
         * The version results are tagged with; statistics are kept per version and never pooled across versions.
         * Absent = the fingerprint of the weights, so a checkpoint with new weights under the same name is a new version.
         */
        Optional<String> version();

        /** cpu, gpu or gpu:N; a GPU needs the CUDA image (docker/Dockerfile.cuda). */
        @WithDefault("cpu")
        String device();

        /** Every model any worker group evaluates; a fact asking for another one is a dead letter. Absent = this model only. */
        Optional<List<String>> known();
    }

    /** What is done to every fact. Each key that is set overrides the protocol's value; absent ones are the protocol's. */
    interface Grid {
        /**
         * The study protocol (study.Protocol): locus (ROME, error injection, every layer, the spec's tracing, the testbed's
         * hyperparameters), paper-gpt-j or paper-gpt2-xl (the published runs, for those models' depths only: the README's
         * "Published protocol"), or paper-gpt-j-scaled / paper-gpt2-xl-scaled (a published run's layers and windows scaled
         * to this model's depth, with the hyperparameters of locus.editing.config).
         */
        @WithDefault("locus")
        String protocol();

        /** Editing methods (rome, memit, ft-1, ft-5); absent = the protocol's (locus: rome). */
        Optional<List<String>> methods();

        /** Editing problems; absent = the protocol's (locus: error_injection). */
        Optional<List<String>> problems();

        /** Layers to edit; absent = the protocol's (locus: every layer). */
        Optional<List<Integer>> layers();
    }

    /** Each key that is set overrides the protocol's value (locus.grid.protocol); absent ones are the protocol's. */
    interface Tracing {
        /** Corrupted runs per trace; absent = the protocol's (10 in all of them). */
        OptionalInt samples();

        @WithDefault("1")
        long seed();

        /** Window per kind (hidden, mlp, attn); unset kinds keep the protocol's (locus: the spec's 1 / 5 / 5). */
        Map<String, Integer> windows();

        /** Absent = estimated: the protocol's factor (3) × the std of the subjects' token embeddings. */
        OptionalDouble noiseSigma();

        Optional<Path> noiseSubjects();

        /** Facts the model gives a lower p(true object) are not analysed; absent = the protocol's (locus 0.02, the papers' 0). */
        OptionalDouble minPClean();

        /**
         * The published fact filter: a fact whose true object is not in the model's greedy continuation of the prompt of this
         * many tokens is not analysed; 0 = no filter. Absent = the protocol's (locus 0, the papers' 36).
         */
        OptionalInt knownContinuation();
    }

    interface Editing {
        /** testbed, gpt-j, gpt2-xl (the paper's values), paper-gpt-j, paper-gpt2-xl (the authors' code's) or a JSON file of hyperparameters; absent = the protocol's (locus and the scaled ones: testbed). */
        Optional<String> config();

        Optional<Path> corpus();

        @WithDefault("${user.home}/.cache/locus")
        Path cache();

        /**
         * A fact's edits at every layer made together (ROME's v*, MEMIT's z, fine-tuning), in batches of at most this many rows;
         * 0 = every edit one at a time (the reference). Equal within 1e-5 (BatchedStudyTest); see the README's "Batched edits".
         */
        @WithDefault("128")
        int batchRows();

        /**
         * Essence, fluency and target_score of every edit (dev.locus.editing.Essence; README, "Essence and fluency"):
         * top-k samples of "{subject} is a" before and after the edit, their perplexity and n-gram entropy. Off = results
         * exactly as without them (none of their fields). Absent = the protocol's (locus: off, the published ones: on).
         */
        Optional<Boolean> essence();

        /** Essence texts per fact; absent = the protocol's (the authors' 5 in all). */
        Optional<Integer> essenceSamples();

        /** Tokens per essence text, prompt included, capped at the context; absent = the protocol's (published 100, else 24). */
        Optional<Integer> essenceLength();

        /** The k of the essence texts' top-k sampling; absent = the protocol's (ROME's generate_fast: 5). */
        Optional<Integer> essenceTopK();
    }

    interface Limits {
        @WithDefault("65536")
        int maxMessageBytes();

        @WithDefault("2000")
        int maxPromptChars();

        /** Most facts one HTTP submission may carry. */
        @WithDefault("10000")
        int maxBatchFacts();

        /**
         * Submissions published at once; one more is answered 429 with Retry-After, so a flood of requests holds at most
         * this many bodies in memory and the producer's buffer never overflows.
         */
        @WithDefault("4")
        int maxConcurrentSubmissions();
    }

    interface Aggregator {
        /** Names this aggregator's snapshots in the stats topic; two aggregators of the same models need different ids. */
        @WithDefault("default")
        String id();

        @WithDefault("5s")
        Duration snapshotInterval();

        /** How often the announced versions' comparisons with their baselines are recomputed for the locus_version_* metrics. */
        @WithDefault("5s")
        Duration compareInterval();
    }

    interface Api {
        /** Keys accepted in the X-API-Key header of fact submissions; absent = only OIDC bearer tokens are accepted. */
        Optional<List<String>> keys();

        /** Role (groups claim) an OIDC token needs to submit facts and announce model versions; absent = any valid token. */
        Optional<String> submitRole();

        /**
         * The secret of the MLflow webhook that posts model_version.created to /api/models/mlflow (the one given to
         * MLflow's create_webhook); absent = that endpoint is off.
         */
        Optional<String> mlflowWebhookSecret();
    }

    interface Demo {
        /** Publish the testbed facts at start (set by the launcher when it starts the in-process broker). */
        @WithDefault("false")
        boolean publishTestbedFacts();

        @WithDefault("1000")
        int facts();

        /**
         * With locus.worker.versions=announced: announce two versions of the testbed at start, "1" as shipped and "2"
         * with these facts rewritten (error injection by ROME at layer 1, one after another), so that their comparison
         * shows these facts among the knowledge diff's exemplars. "auto": the first demo fact of each partition of the
         * facts topic, which are among the first any worker studies (a consumer takes each partition in order, the
         * partitions in no fixed order); "none": announce nothing.
         */
        @WithDefault("auto")
        List<String> rewrittenFacts();
    }
}
