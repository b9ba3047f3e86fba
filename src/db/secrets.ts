/**
 * Development secrets kept with the embedded cluster's data, generated once.
 * Production never uses this file: it supplies URLs and JWT_SECRET itself.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export interface DevSecrets {
  postgresPassword: string;
  ownerPassword: string;
  authenticatorPassword: string;
  jwtSecret: string;
}

const token = () => randomBytes(24).toString("base64url");

export function loadOrCreateDevSecrets(dataDir: string): DevSecrets {
  const file = path.join(dataDir, "secrets.json");
  if (fs.existsSync(file)) {
    return JSON.parse(fs.readFileSync(file, "utf8")) as DevSecrets;
  }
  const secrets: DevSecrets = {
    postgresPassword: token(),
    ownerPassword: token(),
    authenticatorPassword: token(),
    jwtSecret: randomBytes(48).toString("base64url"),
  };
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}
