-- AlterTable
ALTER TABLE "TokenSet" ADD COLUMN "refreshLeaseUntil" DATETIME;

