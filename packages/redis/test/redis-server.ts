export {
  type RedisServer,
  type RedisServerOptions,
  startRedisServer,
} from "@lifeline/test-support";
