package io.signalbox.xds;

import io.envoyproxy.controlplane.cache.VersionedResource;
import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Collection;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;

/**
 * What one delta stream holds of one resource type: the version Envoy acknowledged, by name.
 *
 * <p>Kept as the differences from a snapshot's resources (the base), which every stream of a node
 * group shares: a stream that has acknowledged the snapshot holds exactly its resources, so its own
 * part is empty. java-control-plane's stream observer keeps a map of every name per stream and
 * type, which at 10,000 services and 1,000 streams was two thirds of the heap. Moving to a newer
 * base ({@link #rebase}) costs the names that differ between the two bases (found once per pair of
 * bases, for every stream of the group) plus the stream's own differences.
 *
 * <p>Written only on the stream's request thread; the publisher looks names up while answering a
 * watch, and walks the stream's own differences when a remade cluster's endpoints open a watch from
 * its thread (a concurrent map: a walk meanwhile misses at worst a name the next watch sends). A
 * rebase swaps both layers at once, so a lookup sees one consistent pair.
 */
final class TrackedVersions extends AbstractMap<String, String> {

  /** In the own layer: held in the base, but not by the stream. Compared by identity. */
  @SuppressWarnings("StringOperationCanBeSimplified")
  private static final String NOT_HELD = new String("not held");

  private record Layers(
      Map<String, ? extends VersionedResource<?>> base, Map<String, String> own) {}

  private volatile Layers layers = new Layers(Map.of(), new ConcurrentHashMap<>());

  /** The base the stream's differences are kept from. */
  Map<String, ? extends VersionedResource<?>> base() {
    return layers.base();
  }

  /**
   * Calls {@code each} with every name the stream holds differently from {@code resources}, and the
   * version it holds (null: not held, though {@code resources} has it), when {@code resources} is
   * the very base its differences are kept from; else calls nothing and returns false. What the
   * stream lacks of the snapshot it rebased onto, in the time of its own differences, not the
   * snapshot's size.
   */
  boolean forEachDifferenceFrom(
      Map<String, ? extends VersionedResource<?>> resources,
      java.util.function.BiConsumer<String, String> each) {
    Layers current = layers;
    if (current.base() != resources) {
      return false;
    }
    current.own().forEach((name, held) -> each.accept(name, held == NOT_HELD ? null : held));
    return true;
  }

  /** Whether the stream holds nothing: a new stream, before its first answer of the type. */
  boolean holdsNothing() {
    Layers current = layers;
    return current.base().isEmpty() && current.own().isEmpty();
  }

  /**
   * What the stream holds once its Envoy acknowledged a response that carried {@code sent} and
   * removed {@code removed}, kept as differences from {@code base}, its group's snapshot now (null:
   * none). A stream that held nothing and was sent that very snapshot's map (its initial sync)
   * holds exactly it, without putting every name in its own layer.
   *
   * @param changesBetween the names two bases differ in ({@link BaseChanges#between})
   */
  void acknowledged(
      Map<String, ? extends VersionedResource<?>> sent,
      Collection<String> removed,
      Map<String, ? extends VersionedResource<?>> base,
      BiFunction<
              Map<String, ? extends VersionedResource<?>>,
              Map<String, ? extends VersionedResource<?>>,
              ? extends Collection<String>>
          changesBetween) {
    if (base != null && sent == base && removed.isEmpty() && holdsNothing()) {
      layers = new Layers(base, new ConcurrentHashMap<>());
      return;
    }
    sent.forEach((name, resource) -> put(name, resource.version()));
    removed.forEach(this::remove);
    if (base != null) {
      rebase(base, changesBetween.apply(base(), base));
    }
  }

  /** How many names the stream holds differently from its base. */
  int ownSize() {
    return layers.own().size();
  }

  @Override
  public String get(Object name) {
    Layers current = layers;
    String own = current.own().get(name);
    if (own != null) {
      return own == NOT_HELD ? null : own;
    }
    return versionIn(current.base(), name);
  }

  @Override
  public boolean containsKey(Object name) {
    return get(name) != null;
  }

  @Override
  public String put(String name, String version) {
    Objects.requireNonNull(version, "version");
    Layers current = layers;
    String held = get(name);
    if (version.equals(versionIn(current.base(), name))) {
      current.own().remove(name);
    } else {
      current.own().put(name, version);
    }
    return held;
  }

  @Override
  public String remove(Object name) {
    Layers current = layers;
    String held = get(name);
    if (current.base().containsKey(name)) {
      current.own().put((String) name, NOT_HELD);
    } else {
      current.own().remove(name);
    }
    return held;
  }

  @Override
  public void clear() {
    layers = new Layers(Map.of(), new ConcurrentHashMap<>());
  }

  /**
   * Keeps what the stream holds, as differences from {@code newBase}.
   *
   * @param changed every name whose version (or presence) differs between the current base and
   *     {@code newBase}; names outside it and outside the stream's own differences are held at the
   *     version both bases have
   */
  void rebase(Map<String, ? extends VersionedResource<?>> newBase, Collection<String> changed) {
    Layers current = layers;
    if (current.base() == newBase) {
      return;
    }
    Map<String, String> own = new ConcurrentHashMap<>();
    for (String name : current.own().keySet()) {
      keepDifference(own, newBase, name, get(name));
    }
    for (String name : changed) {
      keepDifference(own, newBase, name, get(name));
    }
    layers = new Layers(newBase, own);
  }

  private static void keepDifference(
      Map<String, String> own,
      Map<String, ? extends VersionedResource<?>> base,
      String name,
      String held) {
    String inBase = versionIn(base, name);
    if (held == null) {
      if (inBase != null) {
        own.put(name, NOT_HELD);
      }
    } else if (!held.equals(inBase)) {
      own.put(name, held);
    }
  }

  private static String versionIn(Map<String, ? extends VersionedResource<?>> base, Object name) {
    VersionedResource<?> resource = base.get(name);
    return resource == null ? null : resource.version();
  }

  @Override
  public boolean isEmpty() {
    return !entrySet().iterator().hasNext();
  }

  @Override
  public Set<Entry<String, String>> entrySet() {
    Layers current = layers;
    return new AbstractSet<>() {
      @Override
      public Iterator<Entry<String, String>> iterator() {
        return new HeldIterator(current);
      }

      @Override
      public int size() {
        int size = 0;
        for (Iterator<?> it = iterator(); it.hasNext(); it.next()) {
          size++;
        }
        return size;
      }
    };
  }

  /** The base's names the stream does not hold differently, then the stream's own. Read-only. */
  private static final class HeldIterator implements Iterator<Entry<String, String>> {
    private final Layers layers;
    private final Iterator<? extends Entry<String, ? extends VersionedResource<?>>> base;
    private final Iterator<Entry<String, String>> own;
    private Entry<String, String> next;

    HeldIterator(Layers layers) {
      this.layers = layers;
      this.base = layers.base().entrySet().iterator();
      this.own = layers.own().entrySet().iterator();
      advance();
    }

    private void advance() {
      next = null;
      while (base.hasNext()) {
        Entry<String, ? extends VersionedResource<?>> entry = base.next();
        if (!layers.own().containsKey(entry.getKey())) {
          next = new SimpleImmutableEntry<>(entry.getKey(), entry.getValue().version());
          return;
        }
      }
      while (own.hasNext()) {
        Entry<String, String> entry = own.next();
        if (entry.getValue() != NOT_HELD) {
          next = new SimpleImmutableEntry<>(entry);
          return;
        }
      }
    }

    @Override
    public boolean hasNext() {
      return next != null;
    }

    @Override
    public Entry<String, String> next() {
      if (next == null) {
        throw new NoSuchElementException();
      }
      Entry<String, String> current = next;
      advance();
      return current;
    }
  }
}
