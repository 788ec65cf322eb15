/**
 * The refresh-token redemptions this process is running, by user. One refresh token serves every resource, so
 * redemptions of one user run one at a time (across processes, through the lease on the token set); a caller here that
 * finds the lease taken by this same process waits for that redemption to end instead of polling the database.
 */
export interface UserRedemptions {
  /** Registers `work` as this process's redemption for the user until it settles; returns it. */
  track<T>(userId: string, work: Promise<T>): Promise<T>;
  /** Settles (never rejects) when the user's redemption in this process ends; undefined when none runs here. */
  settled(userId: string): Promise<void> | undefined;
}

export function createUserRedemptions(): UserRedemptions {
  const running = new Map<string, Promise<void>>();
  return {
    track(userId, work) {
      const done = work.then(
        () => undefined,
        () => undefined,
      );
      running.set(userId, done);
      void done.then(() => {
        if (running.get(userId) === done) running.delete(userId);
      });
      return work;
    },
    settled(userId) {
      return running.get(userId);
    },
  };
}
