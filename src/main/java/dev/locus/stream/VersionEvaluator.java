package dev.locus.stream;

import dev.locus.config.LocusConfig;
import dev.locus.study.FactStudyRunner;
import dev.locus.study.StudySettings;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.common.annotation.Identifier;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.jboss.logging.Logger;

/**
 * The worker for announced versions ({@code locus.worker.versions=announced}). It holds one model at a time and loops:
 * take the unfinished version with the fewest facts done (the oldest among equals; failed ones are left alone), load
 * it (reporting {@code loading}, then {@code evaluating} with its fingerprint, or {@code failed} with the reason), and
 * read {@code locus.facts} from the beginning in that version's own consumer group ({@link VersionProgress#group}),
 * studying each fact and committing its offset as soon as its results are on the broker. Several workers in one group
 * split its partitions. It moves on when its partitions have nothing left (or after
 * {@code locus.worker.version-slice-facts} facts), and comes back when new facts arrive: every version is evaluated on
 * every fact, so comparisons are paired.
 * <p>
 * Restart-safe by the offsets: a fact is committed only after its results are acknowledged, so a crash redoes at most the
 * fact in progress, whose results have the same ids and are not counted twice.
 */
@ApplicationScoped
public class VersionEvaluator {
    private static final Logger LOG = Logger.getLogger(VersionEvaluator.class);
    private static final Duration POLL = Duration.ofMillis(200);
    /** A worker given no partition of a version's group (others hold them all) for this long looks for other work. */
    private static final Duration UNASSIGNED = Duration.ofSeconds(10);
    private static final Duration IDLE = Duration.ofSeconds(2);

    @Inject
    LocusConfig config;

    @Inject
    @Identifier("default-kafka-broker")
    Map<String, Object> kafka;

    @Inject
    ModelRegistry models;

    @Inject
    VersionProgress progress;

    @Inject
    FactWorker worker;

    private final String workerName = System.getenv().getOrDefault("HOSTNAME", "worker-" + ProcessHandle.current().pid());
    private final Map<String, Instant> leftUnassigned = new HashMap<>();
    private volatile boolean running;
    private volatile KafkaConsumer<String, byte[]> consumer;
    private Thread thread;
    private ModelAnnouncement loaded;
    private FactStudyRunner runner;

    /** Whether this instance evaluates announced versions instead of a deployed model. */
    public static boolean announced(LocusConfig config) {
        String mode = config.worker().versions();
        if (!mode.equals("announced") && !mode.equals("deployed")) {
            throw new IllegalArgumentException("locus.worker.versions must be deployed or announced, not '" + mode + "'");
        }
        return Roles.worker(config.role()) && mode.equals("announced");
    }

    void start(@Observes @Priority(30) StartupEvent event) {
        if (!announced(config)) {
            return;
        }
        running = true;
        thread = new Thread(this::run, "locus-version-evaluator");
        thread.start();
    }

    void stop(@Observes ShutdownEvent event) throws InterruptedException {
        if (thread == null) {
            return;
        }
        running = false;
        KafkaConsumer<String, byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
        thread.join(30_000);
    }

    private void run() {
        try {
            while (running) {
                try {
                    ModelAnnouncement next = choose();
                    if (next == null) {
                        Thread.sleep(IDLE.toMillis());
                    } else if (load(next)) {
                        evaluate(next);
                    }
                } catch (RuntimeException e) { // the broker away, a result not acknowledged: the uncommitted fact is redone
                    if (running) {
                        LOG.errorf("evaluating announced versions: %s; trying again", e.toString());
                        Thread.sleep(IDLE.toMillis());
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            unload();
        }
    }

    /** The unfinished, not failed version with the fewest facts done; versions this worker found fully taken are tried last. */
    private ModelAnnouncement choose() {
        ModelAnnouncement best = null;
        long bestDone = Long.MAX_VALUE;
        boolean bestTaken = true;
        Instant now = Instant.now();
        for (ModelAnnouncement v : models.versions()) {
            VersionStatus status = models.status(v);
            if (status != null && status.state().equals(VersionStatus.FAILED)) {
                continue;
            }
            VersionProgress.Count count = progress.count(v);
            if (count.finished()) {
                continue;
            }
            Instant left = leftUnassigned.get(v.key());
            boolean taken = left != null && left.plus(Duration.ofMinutes(1)).isAfter(now);
            if ((bestTaken && !taken) || (taken == bestTaken && count.done() < bestDone)) {
                best = v;
                bestDone = count.done();
                bestTaken = taken;
            }
        }
        return best;
    }

    /** Makes {@code version} the loaded model (closing the one before); false, with the version reported failed, if it cannot be. */
    private boolean load(ModelAnnouncement version) throws InterruptedException {
        if (version.equals(loaded)) {
            return true;
        }
        unload();
        models.report(status(version, VersionStatus.LOADING, null, null));
        long start = System.nanoTime();
        FactStudyRunner r;
        try {
            r = FactStudyRunner.open(settings(version), LOG::info);
        } catch (RuntimeException e) { // ModelLoadException, a layer outside the model, an unknown preset, ...
            LOG.errorf("version %s cannot be evaluated: %s", version.key(), e.getMessage());
            models.report(status(version, VersionStatus.FAILED, null, e.getClass().getSimpleName() + ": " + e.getMessage()));
            return false;
        }
        ModelRegistry.Refusal refusal = models.refusal(version.name(), version.version(), r.fingerprint());
        if (refusal != null) {
            r.close();
            LOG.errorf("version %s: %s", version.key(), refusal.message());
            models.report(status(version, VersionStatus.FAILED, r.fingerprint(), refusal.reason() + ": " + refusal.message()));
            return false;
        }
        LOG.infof("evaluating %s (%s), grid %s: loaded in %.1f s", version.key(), r.fingerprint(), r.grid().id(),
                (System.nanoTime() - start) / 1e9);
        models.report(status(version, VersionStatus.EVALUATING, r.fingerprint(), null));
        loaded = version;
        runner = r;
        return true;
    }

    private void unload() {
        if (runner != null) {
            runner.close();
        }
        runner = null;
        loaded = null;
    }

    /** The worker's own study settings with the announcement's checkpoint, name, version, preset and grid in their place. */
    private StudySettings settings(ModelAnnouncement version) {
        StudySettings own = StudySettingsMapping.from(config);
        StudySettings.Edits edits = own.edits();
        if (version.grid() != null) {
            ModelAnnouncement.GridChoice g = version.grid();
            edits = new StudySettings.Edits(g.methods() != null ? g.methods() : edits.methods(),
                    g.problems() != null ? g.problems() : edits.problems(),
                    g.layers() != null ? g.layers().stream().mapToInt(Integer::intValue).toArray() : edits.layers());
        }
        StudySettings.Editing editing = version.editingConfig() == null ? own.editing()
                : new StudySettings.Editing(version.editingConfig(), own.editing().corpus(), own.editing().cacheDir(),
                        own.editing().batchRows(), own.editing().essence());
        return new StudySettings(new StudySettings.Model(Path.of(version.checkpoint()), version.name(), version.version(),
                own.model().device()), edits, own.tracing(), editing);
    }

    /** Studies the version's facts from its group's committed offsets until its partitions have none left (or the slice is done). */
    private void evaluate(ModelAnnouncement version) {
        int slice = config.worker().versionSliceFacts();
        List<String> known = known();
        int studied = 0;
        KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(consumerSettings(version));
        try {
            consumer = c;
            c.subscribe(List.of(config.topics().facts()));
            Instant unassignedSince = Instant.now();
            while (running && (slice == 0 || studied < slice)) {
                List<ConsumerRecord<String, byte[]>> batch = new ArrayList<>();
                c.poll(POLL).forEach(batch::add);
                Set<TopicPartition> assigned = c.assignment();
                if (batch.isEmpty()) {
                    if (assigned.isEmpty()) {
                        if (Duration.between(unassignedSince, Instant.now()).compareTo(UNASSIGNED) > 0) {
                            leftUnassigned.put(version.key(), Instant.now());
                            return;
                        }
                        continue;
                    }
                    unassignedSince = Instant.now();
                    if (caughtUp(c, assigned)) {
                        return;
                    }
                    continue;
                }
                unassignedSince = Instant.now();
                for (ConsumerRecord<String, byte[]> record : batch) {
                    worker.handle(record, runner, known, this::requireRunning);
                    c.commitSync(Map.of(new TopicPartition(record.topic(), record.partition()), new OffsetAndMetadata(record.offset() + 1)));
                    studied++;
                }
            }
        } catch (WakeupException e) {
            // stopping
        } catch (IllegalStateException e) {
            if (running) {
                throw e;
            }
            LOG.infof("stopping: %s's fact in progress is left uncommitted and will be redone after the restart", version.key());
        } finally {
            consumer = null;
            // Moving on (or stopping) on purpose: leave the group now, even as a static member, so that the version's
            // partitions go to its other workers at once rather than after the session timeout.
            c.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP));
            if (studied > 0) {
                LOG.infof("%s: studied %d fact(s) on this turn", version.key(), studied);
            }
        }
    }

    /** The models a fact may name: every announced name, and those configured as known to other worker groups. */
    private List<String> known() {
        List<String> out = new ArrayList<>(config.model().known().orElse(List.of()));
        models.versions().stream().map(ModelAnnouncement::name).distinct().filter(n -> !out.contains(n)).forEach(out::add);
        return out;
    }

    private void requireRunning() {
        if (!running) {
            throw new IllegalStateException("the worker is shutting down; the fact will be redone");
        }
    }

    private static boolean caughtUp(KafkaConsumer<String, byte[]> c, Set<TopicPartition> assigned) {
        Map<TopicPartition, Long> end = c.endOffsets(assigned);
        return assigned.stream().allMatch(p -> c.position(p) >= end.get(p));
    }

    private Map<String, Object> consumerSettings(ModelAnnouncement version) {
        Map<String, Object> settings = new HashMap<>(TopicSetup.clientSettings(kafka));
        settings.put(ConsumerConfig.GROUP_ID_CONFIG, VersionProgress.group(version));
        settings.put(ConsumerConfig.CLIENT_ID_CONFIG, "locus-evaluator-" + workerName);
        settings.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        settings.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        settings.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        settings.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        settings.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1);
        settings.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, 3_600_000); // one fact may take minutes on a big model
        // Workers joining or leaving a version's group do not stop the others' partitions.
        settings.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
        // Static membership: back after a crash, this worker has its partitions of the version's group at once.
        config.worker().instanceId().ifPresent(id -> settings.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, id));
        return settings;
    }

    private VersionStatus status(ModelAnnouncement version, String state, String fingerprint, String reason) {
        return new VersionStatus(version.name(), version.version(), state, fingerprint, reason, workerName, Instant.now().toString());
    }
}
