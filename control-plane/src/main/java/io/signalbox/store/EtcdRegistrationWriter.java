package io.signalbox.store;

import static io.signalbox.store.EtcdCalls.bytes;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.signalbox.model.Registration;
import io.signalbox.model.RouteSpec;
import io.signalbox.store.EtcdAppliedKeys.WrittenLease;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Commits one replica's registrations to etcd in guarded transactions: picks which waiting
 * registrations can share one (checked with the engine against the state at the guard revision
 * read), commits them, answers them once this replica has applied the commit, and leaves them for
 * the next round when another registration committed first. Only the registration batches' writer
 * thread calls it: concurrent transactions would all but one fail on the guard and retry.
 */
final class EtcdRegistrationWriter {

  /**
   * Registrations per transaction: each is one comparison, one put and one read of the lease key
   * (plus the guard once), well under etcd's default limit of 128 operations per transaction.
   */
  static final int MAX_REGISTRATIONS_PER_TRANSACTION = 16;

  /**
   * Bytes of lease values per transaction: etcd refuses a request over {@code --max-request-bytes}
   * (default 1.5 MiB), and a registration may be up to 256 KiB of proto, more as JSON. A larger
   * registration still goes, alone.
   */
  static final int MAX_REGISTRATION_BYTES_PER_TRANSACTION = 1 << 20;

  /**
   * How far down the queue one round looks for registrations to add: bounds the work per round on a
   * long queue.
   */
  private static final int MAX_REGISTRATIONS_EXAMINED = 256;

  /** What the writer reads of the replica's applied keys. */
  interface Applied {
    /** The guard key's mod revision in the applied state. */
    long guardRevision();

    /** The lease key as applied, or null. */
    WrittenLease lease(String leaseId);

    /** Returns once the replica has applied {@code revision}. */
    void await(long revision);
  }

  private final EtcdCalls etcd;
  private final RegistryEngine engine;
  private final Applied applied;
  private final Clock wallClock;

  /**
   * @param wallClock the time written into a lease: when it was registered and expires
   */
  EtcdRegistrationWriter(EtcdCalls etcd, RegistryEngine engine, Applied applied, Clock wallClock) {
    this.etcd = etcd;
    this.engine = engine;
    this.applied = applied;
    this.wallClock = wallClock;
  }

  /**
   * Writes registrations waiting in arrival order, up to {@link #MAX_REGISTRATIONS_PER_TRANSACTION}
   * in one guarded transaction, with the outcome of writing them one after another. Only this
   * replica's registration writer calls it: concurrent transactions would all but one fail on the
   * guard and retry.
   */
  void write(List<EtcdRegistrationBatches.Pending> waiting) {
    long guardSeen = applied.guardRevision();
    // Checked against the state at (or after) the guard revision read above: if anything committed
    // since, the
    // transaction fails and the members are checked again.
    List<BatchMember> members = admit(waiting);
    if (!members.isEmpty()) {
      try {
        commitRegistrations(members, guardSeen);
      } catch (RuntimeException | Error e) {
        members.forEach(member -> member.registering().answer.completeExceptionally(e));
        if (e instanceof Error error) {
          throw error;
        }
      }
    }
  }

  /**
   * A registration in the next transaction, with the lease key it writes as read (null for a new
   * lease).
   */
  private record BatchMember(
      EtcdRegistrationBatches.Pending registering, String leaseId, WrittenLease written) {}

  /**
   * Picks, in arrival order, the registrations that can share one transaction as if written one
   * after another; answers at once those whose routes another service owns. All members commit at
   * one revision, so they share a registration order: a second registration of an instance, and one
   * of a service already in the transaction with other routes, wait for the next; so does one whose
   * route is owned by a service in the transaction (whose registration may free it). A route
   * claimed by a member of another service is that service's (first owner keeps it). The first
   * registration waiting is always answered or tried.
   */
  private List<BatchMember> admit(List<EtcdRegistrationBatches.Pending> waiting) {
    List<BatchMember> members = new ArrayList<>();
    Set<List<String>> instancesTaken = new HashSet<>();
    Map<String, List<RouteSpec>> routesByService = new HashMap<>();
    long bytes = 0;
    for (EtcdRegistrationBatches.Pending registering :
        waiting.subList(0, Math.min(waiting.size(), MAX_REGISTRATIONS_EXAMINED))) {
      if (members.size() == MAX_REGISTRATIONS_PER_TRANSACTION) {
        break;
      }
      if (registering.answer.isDone()) {
        // Its caller gave up (interrupted): not written.
        continue;
      }
      try {
        admitOne(registering, members, instancesTaken, routesByService, bytes);
      } catch (RuntimeException e) {
        // Something about this registration alone: it fails, the others go on.
        registering.answer.completeExceptionally(e);
      }
      bytes = members.stream().mapToLong(member -> member.registering().bytes).sum();
    }
    return members;
  }

  /** Adds the registration to the transaction, answers it, or leaves it for the next round. */
  private void admitOne(
      EtcdRegistrationBatches.Pending registering,
      List<BatchMember> members,
      Set<List<String>> instancesTaken,
      Map<String, List<RouteSpec>> routesByService,
      long bytes) {
    Registration registration = registering.registration;
    String service = registration.service();
    // Taken also by an earlier registration of the instance that waits: an instance's registrations
    // keep their order.
    if (!instancesTaken.add(List.of(service, registration.instance().id()))) {
      return;
    }
    if (!members.isEmpty() && bytes + registering.bytes > MAX_REGISTRATION_BYTES_PER_TRANSACTION) {
      return;
    }
    List<RouteSpec> sameService = routesByService.get(service);
    if (sameService != null && !sameService.equals(registration.routes())) {
      return;
    }
    try {
      engine.checkQuotas(registration);
    } catch (QuotaExceededException e) {
      registering.answer.completeExceptionally(e);
      return;
    }
    try {
      engine.checkRoutesFree(registration);
    } catch (RouteConflictException e) {
      if (!routesByService.containsKey(e.owner())) {
        registering.answer.completeExceptionally(e);
      }
      return;
    }
    try {
      RegistrationAdmission.checkRoutesUnclaimed(
          registration, members.stream().map(member -> member.registering().registration).toList());
    } catch (RouteConflictException e) {
      // Claimed by a member that has not committed yet: answered next round, against what did
      // commit.
      return;
    }
    // Read again on every attempt: the instance may have registered or gone through another replica
    // meanwhile.
    String gone = registering.goneLease;
    Optional<String> knownLease =
        engine.leaseIdOf(service, registration.instance().id()).filter(id -> !id.equals(gone));
    // Live under another identity's lease: refused. Checked against the state at the guard revision
    // read, so the
    // transaction (which compares the guard and the lease key) commits only if the owner is still
    // the one checked.
    knownLease.ifPresent(leaseId -> engine.checkLeaseOwner(leaseId, registration.registrant()));
    WrittenLease written = knownLease.map(applied::lease).orElse(null);
    members.add(
        new BatchMember(
            registering, written != null ? written.value().leaseId() : Lease.newId(), written));
    routesByService.putIfAbsent(service, registration.routes());
  }

  private void commitRegistrations(List<BatchMember> members, long guardSeen) {
    List<Cmp> conditions = new ArrayList<>();
    List<Op> writes = new ArrayList<>();
    List<Op> reads = new ArrayList<>();
    conditions.add(
        new Cmp(bytes(EtcdRegistryStore.GUARD), Cmp.Op.EQUAL, CmpTarget.modRevision(guardSeen)));
    reads.add(Op.get(bytes(EtcdRegistryStore.GUARD), GetOption.DEFAULT));
    Instant now = wallClock.instant();
    for (BatchMember member : members) {
      WrittenLease written = member.written();
      Duration ttl = member.registering().ttl;
      // Sequence 0: the commit's revision becomes the registration order. A drain and a
      // reported NOT_SERVING belong to the lease and stay.
      StoredLease stored =
          new StoredLease(
              member.registering().registration,
              member.leaseId(),
              0,
              ttl,
              written != null ? written.value().registeredAt() : now,
              now.plus(ttl),
              written != null && written.value().drained(),
              written != null && written.value().notServing());
      ByteSequence leaseKey = bytes(EtcdRegistryStore.LEASES + member.leaseId());
      // The lease as read: a drain or a removal committed since must not be overwritten.
      conditions.add(
          new Cmp(
              leaseKey,
              Cmp.Op.EQUAL,
              CmpTarget.modRevision(written != null ? written.modRevision() : 0)));
      writes.add(
          Op.put(leaseKey, ByteSequence.from(StoredLeaseCodec.encode(stored)), PutOption.DEFAULT));
      reads.add(Op.get(leaseKey, GetOption.DEFAULT));
    }
    writes.add(
        Op.put(
            bytes(EtcdRegistryStore.GUARD),
            bytes(members.get(members.size() - 1).leaseId()),
            PutOption.DEFAULT));
    TxnResponse response =
        etcd.await(
            etcd.client()
                .getKVClient()
                .txn()
                .If(conditions.toArray(Cmp[]::new))
                .Then(writes.toArray(Op[]::new))
                .Else(reads.toArray(Op[]::new))
                .commit(),
            "register " + members.size() + " instance(s)");
    if (response.isSucceeded()) {
      applied.await(response.getHeader().getRevision());
      members.forEach(
          member ->
              member
                  .registering()
                  .answer
                  .complete(new Lease(member.leaseId(), member.registering().ttl)));
      return;
    }
    // Something committed since the state checked: catch up with it and check again. Only revisions
    // of our own
    // keys: the watch sees nothing else.
    List<KeyValue> guard = response.getGetResponses().get(0).getKvs();
    long caughtUp = guard.isEmpty() ? 0 : guard.get(0).getModRevision();
    for (int i = 0; i < members.size(); i++) {
      BatchMember member = members.get(i);
      List<KeyValue> lease = response.getGetResponses().get(i + 1).getKvs();
      if (member.written() != null && lease.isEmpty()) {
        // The lease expired or was deregistered meanwhile: the instance registers anew (unless it
        // did already).
        member.registering().goneLease = member.leaseId();
      }
      if (!lease.isEmpty()) {
        caughtUp = Math.max(caughtUp, lease.get(0).getModRevision());
      }
    }
    applied.await(caughtUp);
    for (BatchMember member : members) {
      if (++member.registering().attempts >= EtcdRegistryStore.MAX_ATTEMPTS) {
        Registration registration = member.registering().registration;
        member
            .registering()
            .answer
            .completeExceptionally(
                new StoreUnavailableException(
                    "etcd: registration of "
                        + registration.service()
                        + " kept conflicting with concurrent registrations; try again",
                    null));
      }
    }
  }
}
