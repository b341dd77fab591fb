/**
 * Logs a runner's health only when it flips (healthy <-> not), whichever way the check came (its
 * own endpoint or carried on a poll): checks arrive every few seconds per runner.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { StoredHealth } from './store/runner-health.js';

export class HealthFlips {
  private readonly lastHealthy = new Map<string, boolean>();

  note(log: FastifyBaseLogger, runnerId: string, health: StoredHealth): void {
    if (this.lastHealthy.get(runnerId) === health.healthy) return;
    this.lastHealthy.set(runnerId, health.healthy);
    if (health.healthy) log.info({ runnerId, version: health.version }, 'runner reports healthy');
    else log.warn({ runnerId, problems: health.problems }, 'runner reports it is unhealthy');
  }
}
