package io.signalbox.store;

import static io.signalbox.store.EtcdCalls.bytes;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * Writes to one lease's keys other than a registration's: a rewrite (a drain, a serving status),
 * guarded by the revision it was read at, and a removal with its renewal.
 */
final class EtcdLeaseWrites {

  private final EtcdCalls etcd;
  private final EtcdAppliedKeys keys;

  EtcdLeaseWrites(EtcdCalls etcd, EtcdAppliedKeys keys) {
    this.etcd = etcd;
    this.keys = keys;
  }

  /**
   * Rewrites a lease key as {@code change} makes it from the value of the very revision compared
   * against (so nothing written meanwhile is lost; a change to the same value writes nothing), with
   * the expiry as written: a drain or a status neither renews nor shortens the lease. Reads again
   * and retries when someone changed it since. Returns false when the lease is gone.
   */
  boolean rewrite(String leaseId, UnaryOperator<StoredLease> change, String what) {
    for (int attempt = 0; attempt < EtcdRegistryStore.MAX_ATTEMPTS; attempt++) {
      EtcdAppliedKeys.WrittenLease written = keys.lease(leaseId);
      if (written == null) {
        return false;
      }
      StoredLease changed = change.apply(written.value());
      if (changed.equals(written.value())) {
        return true;
      }
      ByteSequence key = bytes(EtcdRegistryStore.LEASES + leaseId);
      TxnResponse response =
          etcd.await(
              etcd.client()
                  .getKVClient()
                  .txn()
                  .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(written.modRevision())))
                  .Then(
                      Op.put(
                          key,
                          ByteSequence.from(StoredLeaseCodec.encode(changed)),
                          PutOption.DEFAULT))
                  .Else(Op.get(key, GetOption.DEFAULT))
                  .commit(),
              what);
      if (response.isSucceeded()) {
        keys.await(response.getHeader().getRevision());
        return true;
      }
      List<KeyValue> now = response.getGetResponses().get(0).getKvs();
      if (now.isEmpty()) {
        // Removed meanwhile (expired or deregistered).
        return false;
      }
      keys.await(now.get(0).getModRevision());
    }
    throw new StoreUnavailableException(
        "etcd: could not " + what + ": its lease kept changing; try again", null);
  }

  /**
   * Removes the leases whose keys still hold the registration judged refused (a registration made
   * meanwhile was admitted by the policy in force, and stays), in as few transactions as etcd
   * allows.
   */
  List<RevokedRegistration> revoke(
      java.util.SortedMap<String, RefusedLeases.Refused> refused, String what) {
    List<String> leaseIds = new ArrayList<>();
    List<EtcdCalls.GuardedWrite> removals = new ArrayList<>();
    refused.forEach(
        (leaseId, lease) -> {
          EtcdAppliedKeys.WrittenLease written = keys.lease(leaseId);
          if (written != null && written.value().registration().equals(lease.registration())) {
            leaseIds.add(leaseId);
            removals.add(removal(leaseId, Optional.of(written.modRevision())));
          }
        });
    if (removals.isEmpty()) {
      return List.of();
    }
    EtcdCalls.Committed removed = etcd.commitAll(removals, what);
    List<RefusedLeases.Refused> revoked = new ArrayList<>();
    long revision = removed.revision();
    for (int i = 0; i < leaseIds.size(); i++) {
      RefusedLeases.Refused lease = refused.get(leaseIds.get(i));
      if (removed.committed().get(i)) {
        revoked.add(lease);
      } else {
        // The key changed since this replica read it: a drain or a serving status rewrites it
        // with the same registration, which is still refused.
        long removedAt = removeIfStillHeld(leaseIds.get(i), lease.registration(), what);
        if (removedAt > 0) {
          revoked.add(lease);
          revision = Math.max(revision, removedAt);
        }
      }
    }
    keys.await(revision);
    return RefusedLeases.revoked(revoked.stream());
  }

  /**
   * Removes the lease if its key, read anew at each attempt, still holds {@code registration}; the
   * revision of the removal, or 0 when the lease is gone or holds another registration (made
   * meanwhile, and admitted by the policy in force).
   */
  private long removeIfStillHeld(
      String leaseId, io.signalbox.model.Registration registration, String what) {
    ByteSequence key = bytes(EtcdRegistryStore.LEASES + leaseId);
    List<KeyValue> now =
        etcd.await(etcd.client().getKVClient().get(key, GetOption.DEFAULT), what).getKvs();
    for (int attempt = 0; attempt < EtcdRegistryStore.MAX_ATTEMPTS; attempt++) {
      if (now.isEmpty()
          || !StoredLeaseCodec.decode(now.get(0).getValue().getBytes())
              .registration()
              .equals(registration)) {
        return 0;
      }
      EtcdCalls.GuardedWrite removal = removal(leaseId, Optional.of(now.get(0).getModRevision()));
      TxnResponse response =
          etcd.await(
              etcd.client()
                  .getKVClient()
                  .txn()
                  .If(removal.conditions().toArray(Cmp[]::new))
                  .Then(removal.operations().toArray(Op[]::new))
                  .Else(Op.get(key, GetOption.DEFAULT))
                  .commit(),
              what);
      if (response.isSucceeded()) {
        return response.getHeader().getRevision();
      }
      now = response.getGetResponses().get(0).getKvs();
    }
    throw new StoreUnavailableException(
        "etcd: could not " + what + ": a lease kept changing; try again", null);
  }

  /**
   * Removes the lease key and its renewal. With a revision, only if the lease key is still the one
   * seen then (so that a drain undone or a registration made meanwhile wins); else only if it
   * exists.
   */
  static EtcdCalls.GuardedWrite removal(String leaseId, Optional<Long> leaseRevision) {
    Cmp condition =
        leaseRevision
            .map(
                revision ->
                    new Cmp(
                        bytes(EtcdRegistryStore.LEASES + leaseId),
                        Cmp.Op.EQUAL,
                        CmpTarget.modRevision(revision)))
            .orElseGet(
                () ->
                    new Cmp(
                        bytes(EtcdRegistryStore.LEASES + leaseId),
                        Cmp.Op.GREATER,
                        CmpTarget.version(0)));
    return new EtcdCalls.GuardedWrite(
        new ArrayList<>(List.of(condition)),
        List.of(
            Op.delete(bytes(EtcdRegistryStore.LEASES + leaseId), DeleteOption.DEFAULT),
            Op.delete(bytes(EtcdRegistryStore.RENEWALS + leaseId), DeleteOption.DEFAULT)));
  }
}
