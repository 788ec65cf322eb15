-- CreateTable
CREATE TABLE "ResourceToken" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "resource" TEXT NOT NULL,
    "scopeKey" TEXT NOT NULL,
    "requestedScopes" TEXT NOT NULL,
    "accessToken" TEXT NOT NULL,
    "tokenType" TEXT NOT NULL,
    "scopes" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ResourceToken_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AdminConsentRequest" (
    "stateHash" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "scopes" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "AdminConsentRequest_pkey" PRIMARY KEY ("stateHash")
);

-- CreateIndex
CREATE UNIQUE INDEX "ResourceToken_userId_scopeKey_key" ON "ResourceToken"("userId", "scopeKey");

-- CreateIndex
CREATE INDEX "AdminConsentRequest_expiresAt_idx" ON "AdminConsentRequest"("expiresAt");

-- AddForeignKey
ALTER TABLE "ResourceToken" ADD CONSTRAINT "ResourceToken_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AdminConsentRequest" ADD CONSTRAINT "AdminConsentRequest_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

