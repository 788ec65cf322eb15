-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_TokenSet" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "userId" TEXT NOT NULL,
    "accessToken" TEXT NOT NULL,
    "refreshToken" TEXT,
    "idToken" TEXT NOT NULL,
    "tokenType" TEXT NOT NULL,
    "scopes" TEXT NOT NULL,
    "expiresAt" DATETIME NOT NULL,
    "needsSignIn" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "TokenSet_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_TokenSet" ("accessToken", "createdAt", "expiresAt", "id", "idToken", "refreshToken", "scopes", "tokenType", "updatedAt", "userId") SELECT "accessToken", "createdAt", "expiresAt", "id", "idToken", "refreshToken", "scopes", "tokenType", "updatedAt", "userId" FROM "TokenSet";
DROP TABLE "TokenSet";
ALTER TABLE "new_TokenSet" RENAME TO "TokenSet";
CREATE UNIQUE INDEX "TokenSet_userId_key" ON "TokenSet"("userId");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

