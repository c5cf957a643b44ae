package io.signalbox.store;

/**
 * When the reaper holds expiry back: when more than {@code maxShare} of the live leases have
 * expired at once, and more than {@code floor} of them. So many instances do not stop together; far
 * more likely the control plane lost its network (or was paused), and removing them would blank the
 * gateway. A small fleet can still lose an instance: with the default floor, 1 of 2 (or 2 of 3)
 * expire as usual.
 *
 * @param maxShare the share of live leases (0 to 1) that may expire in one reaper tick; 1 disables
 *     the protection
 * @param floor expiries up to this many are never held back
 */
public record MassExpiryProtection(double maxShare, int floor) {

  public static final MassExpiryProtection DEFAULT = new MassExpiryProtection(0.5, 2);
  public static final MassExpiryProtection DISABLED = new MassExpiryProtection(1.0, 0);

  public MassExpiryProtection {
    if (!(maxShare > 0 && maxShare <= 1)) {
      throw new IllegalArgumentException("maxShare must be in (0, 1], was " + maxShare);
    }
    if (floor < 0) {
      throw new IllegalArgumentException("floor must not be negative, was " + floor);
    }
  }

  /**
   * Whether expiring these leases now should wait. Only leases that were renewed count: instances
   * that registered and never came back (junk, or a crash loop) say nothing about the network. And
   * when several identities hold leases, the expiring ones must span more than one: one identity's
   * instances stopping together is that identity's business, and must not let it pause expiry for
   * everyone.
   */
  public boolean holdsBack(RegistryStore.LeaseCounts counts) {
    int expired = counts.expired() - counts.expiredNeverRenewed();
    int live = counts.live() - counts.expiredNeverRenewed();
    if (counts.identities() > 1 && counts.expiredIdentities() <= 1) {
      return false;
    }
    return maxShare < 1 && expired > floor && expired > maxShare * live;
  }
}
