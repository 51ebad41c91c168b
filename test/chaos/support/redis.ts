// The redis package's launcher: a real redis-server on a free loopback port, no persistence.
export { type RedisServer, startRedisServer } from "../../../packages/redis/test/redis-server.js";
