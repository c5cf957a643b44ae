package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.StringValue;
import io.envoyproxy.controlplane.cache.VersionedResource;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TrackedVersionsTest {

  private final BaseChanges baseChanges = new BaseChanges();

  @Test
  void aStreamThatHoldsItsSnapshotKeepsNothingOfItsOwn() {
    Map<String, VersionedResource<?>> snapshot = resources(Map.of("a", "1", "b", "1"));
    TrackedVersions tracked = new TrackedVersions();

    tracked.put("a", "1");
    tracked.put("b", "1");
    tracked.rebase(snapshot, baseChanges.between(tracked.base(), snapshot));

    assertThat(tracked).containsExactlyInAnyOrderEntriesOf(Map.of("a", "1", "b", "1"));
    assertThat(tracked.ownSize()).isZero();
  }

  @Test
  void movingToTheNextSnapshotKeepsOnlyWhatTheStreamHasNotAcknowledged() {
    Map<String, VersionedResource<?>> before = resources(Map.of("a", "1", "b", "1", "c", "1"));
    Map<String, VersionedResource<?>> after = new HashMap<>(before);
    after.put("b", resource("2"));
    after.remove("c");
    after.put("d", resource("1"));
    TrackedVersions tracked = new TrackedVersions();
    before.forEach((name, resource) -> tracked.put(name, resource.version()));
    tracked.rebase(before, baseChanges.between(tracked.base(), before));

    // The stream acknowledged b's new version, not yet c's removal nor d.
    tracked.put("b", "2");
    tracked.rebase(after, baseChanges.between(tracked.base(), after));

    assertThat(tracked).containsExactlyInAnyOrderEntriesOf(Map.of("a", "1", "b", "2", "c", "1"));
    assertThat(tracked.ownSize()).as("c held, d not held").isEqualTo(2);
    assertThat(tracked.get("d")).isNull();
    assertThat(tracked.containsKey("c")).isTrue();
  }

  @Test
  void anUnsubscribedNameIsNotHeldThoughTheSnapshotHasIt() {
    Map<String, VersionedResource<?>> snapshot = resources(Map.of("a", "1", "b", "1"));
    TrackedVersions tracked = new TrackedVersions();
    tracked.put("a", "1");
    tracked.put("b", "1");
    tracked.rebase(snapshot, baseChanges.between(tracked.base(), snapshot));

    tracked.remove("a");

    assertThat(tracked).containsExactlyEntriesOf(Map.of("b", "1"));
    assertThat(tracked.keySet()).containsExactly("b");
    tracked.remove("b");
    assertThat(tracked).isEmpty();
  }

  /** Against a plain map, over random edits and moves between random snapshots. */
  @Test
  void holdsExactlyWhatAPlainMapWouldHold() {
    Random random = new Random(20261205);
    for (int run = 0; run < 200; run++) {
      TrackedVersions tracked = new TrackedVersions();
      Map<String, String> expected = new HashMap<>();
      Map<String, VersionedResource<?>> snapshot = Map.of();
      for (int step = 0; step < 60; step++) {
        String name = "r" + random.nextInt(12);
        switch (random.nextInt(4)) {
          case 0 -> {
            String version = Integer.toString(random.nextInt(3));
            assertThat(tracked.put(name, version)).isEqualTo(expected.put(name, version));
          }
          case 1 -> assertThat(tracked.remove(name)).isEqualTo(expected.remove(name));
          case 2 -> {
            // The snapshot keeps most resources as the same objects and changes a few.
            Map<String, VersionedResource<?>> next = new LinkedHashMap<>(snapshot);
            for (int i = 0; i < 3; i++) {
              String changed = "r" + random.nextInt(12);
              if (random.nextBoolean()) {
                next.put(changed, resource(Integer.toString(random.nextInt(3))));
              } else {
                next.remove(changed);
              }
            }
            snapshot = Map.copyOf(next);
            tracked.rebase(snapshot, baseChanges.between(tracked.base(), snapshot));
          }
          default -> {
            // The stream acknowledges the whole snapshot.
            Map<String, VersionedResource<?>> now = snapshot;
            expected.clear();
            now.forEach((n, r) -> expected.put(n, r.version()));
            expected.keySet().forEach(n -> tracked.put(n, expected.get(n)));
            Map.copyOf(tracked).keySet().stream()
                .filter(n -> !now.containsKey(n))
                .forEach(tracked::remove);
            tracked.rebase(now, baseChanges.between(tracked.base(), now));
            assertThat(tracked.ownSize()).isZero();
          }
        }
        assertThat(tracked).isEqualTo(expected);
        assertThat(tracked.isEmpty()).isEqualTo(expected.isEmpty());
        for (int i = 0; i < 12; i++) {
          assertThat(tracked.get("r" + i)).isEqualTo(expected.get("r" + i));
        }
      }
    }
  }

  private static Map<String, VersionedResource<?>> resources(Map<String, String> versions) {
    Map<String, VersionedResource<?>> resources = new HashMap<>();
    versions.forEach((name, version) -> resources.put(name, resource(version)));
    return resources;
  }

  private static VersionedResource<?> resource(String version) {
    return VersionedResource.create(StringValue.of(version), version);
  }
}
