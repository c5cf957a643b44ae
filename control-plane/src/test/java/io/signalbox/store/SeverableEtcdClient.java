package io.signalbox.store;

import io.etcd.jetcd.Auth;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.Cluster;
import io.etcd.jetcd.Election;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.Lease;
import io.etcd.jetcd.Lock;
import io.etcd.jetcd.Maintenance;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.options.WatchOption;
import java.util.ArrayList;
import java.util.List;

/**
 * A real etcd client whose watches a test can sever as jetcd does after a final error (etcd
 * compacted the revisions a watch missed while disconnected, say): the watch is closed and its
 * listener told of the error. jetcd 0.8.5 tells the listener first and closes right after; the test
 * closes first, so that it can look at a replica without its watch before the replica learns of it
 * (the feed checks that the watch is closed 100 ms after the error for that reason). Everything
 * else goes to the real client.
 */
final class SeverableEtcdClient implements Client {

  private final Client client;
  private final SeverableWatch watch;

  SeverableEtcdClient(Client client) {
    this.client = client;
    this.watch = new SeverableWatch(client.getWatchClient());
  }

  /** Ends every watch opened so far, as jetcd ends one after a final error. */
  void endWatches() {
    watch.end();
  }

  /** Tells the listeners of the watches ended so far of the error that ended them. */
  void reportWatchErrors() {
    watch.reportErrors();
  }

  @Override
  public Auth getAuthClient() {
    return client.getAuthClient();
  }

  @Override
  public KV getKVClient() {
    return client.getKVClient();
  }

  @Override
  public Cluster getClusterClient() {
    return client.getClusterClient();
  }

  @Override
  public Maintenance getMaintenanceClient() {
    return client.getMaintenanceClient();
  }

  @Override
  public Lease getLeaseClient() {
    return client.getLeaseClient();
  }

  @Override
  public Watch getWatchClient() {
    return watch;
  }

  @Override
  public Lock getLockClient() {
    return client.getLockClient();
  }

  @Override
  public Election getElectionClient() {
    return client.getElectionClient();
  }

  @Override
  public void close() {
    client.close();
  }

  private static final class SeverableWatch implements Watch {
    private final Watch watch;
    private final List<Watch.Watcher> open = new ArrayList<>();
    private final List<Watch.Listener> ended = new ArrayList<>();
    private final List<Watch.Listener> listeners = new ArrayList<>();

    SeverableWatch(Watch watch) {
      this.watch = watch;
    }

    @Override
    public synchronized Watcher watch(ByteSequence key, WatchOption option, Listener listener) {
      Watcher watcher = watch.watch(key, option, listener);
      open.add(watcher);
      listeners.add(listener);
      return watcher;
    }

    synchronized void end() {
      open.forEach(Watcher::close);
      open.clear();
      ended.addAll(listeners);
      listeners.clear();
    }

    void reportErrors() {
      List<Watch.Listener> toTell;
      synchronized (this) {
        toTell = List.copyOf(ended);
        ended.clear();
      }
      toTell.forEach(
          listener -> listener.onError(new IllegalStateException("watch ended by the test")));
    }

    @Override
    public void requestProgress() {
      watch.requestProgress();
    }

    @Override
    public void close() {
      watch.close();
    }
  }
}
