package io.signalbox.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.PutOption;
import io.signalbox.testing.EtcdProcess;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Guarded writes in as few transactions as etcd allows, against a real etcd. */
class EtcdCallsTest {

  private EtcdProcess etcd;
  private Client client;
  private EtcdCalls calls;

  @BeforeEach
  void start() {
    etcd = EtcdProcess.launch();
    client = Client.builder().endpoints(etcd.endpoint()).build();
    calls = new EtcdCalls(client, Duration.ofSeconds(5));
  }

  @AfterEach
  void stop() {
    client.close();
    etcd.close();
  }

  @Test
  void writesWhoseConditionsFailAreLeftOutAndEveryOtherOneCommits() throws Exception {
    List<EtcdCalls.GuardedWrite> writes = new ArrayList<>();
    List<Boolean> expected = new ArrayList<>();
    // 70 writes: more than two transactions' worth, with a stale one in the first and the last
    // chunk.
    for (int i = 0; i < 70; i++) {
      writes.add(putIfAbsent("k" + i));
      expected.add(i != 5 && i != 69);
    }
    for (String taken : List.of("k5", "k69")) {
      client.getKVClient().put(bytes(taken), bytes("taken")).get();
    }

    EtcdCalls.Committed committed = calls.commitAll(writes, "test");

    assertThat(committed.committed()).isEqualTo(expected);
    assertThat(committed.count()).isEqualTo(68);
    assertThat(committed.revision()).isPositive();
    assertThat(client.getKVClient().get(bytes("k5")).get().getKvs().get(0).getValue())
        .isEqualTo(bytes("taken"));
    assertThat(client.getKVClient().get(bytes("k6")).get().getKvs().get(0).getValue())
        .isEqualTo(bytes("k6"));
  }

  @Test
  void whenNothingCommitsTheRevisionIsZeroSoNobodyWaitsForAnotherApplicationsWrite()
      throws Exception {
    client.getKVClient().put(bytes("k1"), bytes("taken")).get();
    client.getKVClient().put(bytes("elsewhere/key"), bytes("x"), PutOption.DEFAULT).get();

    EtcdCalls.Committed committed = calls.commitAll(List.of(putIfAbsent("k1")), "test");

    assertThat(committed.committed()).containsExactly(false);
    assertThat(committed.revision()).isZero();
  }

  private static EtcdCalls.GuardedWrite putIfAbsent(String key) {
    return new EtcdCalls.GuardedWrite(
        List.of(new Cmp(bytes(key), Cmp.Op.EQUAL, CmpTarget.version(0))),
        List.of(Op.put(bytes(key), bytes(key), PutOption.DEFAULT)));
  }

  private static ByteSequence bytes(String text) {
    return ByteSequence.from(text, StandardCharsets.UTF_8);
  }
}
