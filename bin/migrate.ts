// `npm run db:migrate`: applies the committed migrations to DATABASE_URL (the API also does this at start, under the same lock).
import { parseEnv } from '../config/env.js';
import { appliedMigrations, connectDatabase, migrateDatabase } from '../db/client.js';

const env = parseEnv(process.env);
if (!env.DATABASE_URL) throw new Error('Set DATABASE_URL (postgres://user:password@host:5432/notiflow)');
await migrateDatabase(env.DATABASE_URL);
const database = connectDatabase(env.DATABASE_URL, { max: 1 });
console.log(`database schema up to date (${await appliedMigrations(database.sql)} migrations applied)`);
await database.close();
