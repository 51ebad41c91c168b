import type { Connection } from "./connection.js";

/**
 * Live connections by id and by client_id, and per-address counts for the connection
 * limits. Handshakes in progress hold a reservation, so a burst of upgrades cannot slip
 * past the limits while `authenticate` runs.
 */
export class Registry {
  private readonly byId = new Map<string, Connection>();
  private readonly byClientId = new Map<string, Connection>();
  private readonly perAddress = new Map<string, number>();
  private pendingCount = 0;

  get size(): number {
    return this.byId.size;
  }

  get pending(): number {
    return this.pendingCount;
  }

  /** Connections open plus handshakes in progress. */
  get load(): number {
    return this.byId.size + this.pendingCount;
  }

  countFor(address: string): number {
    return this.perAddress.get(address) ?? 0;
  }

  /** Counts a handshake against the limits; returns its release. */
  reserve(address: string): () => void {
    this.pendingCount += 1;
    this.perAddress.set(address, this.countFor(address) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.pendingCount -= 1;
      this.decrement(address);
    };
  }

  /** Adds an accepted connection; the caller has released its reservation. */
  add(connection: Connection): void {
    this.byId.set(connection.id, connection);
    this.byClientId.set(connection.clientId, connection);
    this.perAddress.set(connection.remoteAddress, this.countFor(connection.remoteAddress) + 1);
  }

  remove(connection: Connection): void {
    if (!this.byId.delete(connection.id)) return;
    if (this.byClientId.get(connection.clientId) === connection) {
      this.byClientId.delete(connection.clientId);
    }
    this.decrement(connection.remoteAddress);
  }

  get(id: string): Connection | undefined {
    return this.byId.get(id);
  }

  byClient(clientId: string): Connection | undefined {
    return this.byClientId.get(clientId);
  }

  values(): IterableIterator<Connection> {
    return this.byId.values();
  }

  private decrement(address: string): void {
    const count = this.countFor(address) - 1;
    if (count <= 0) this.perAddress.delete(address);
    else this.perAddress.set(address, count);
  }
}
