-- AlterTable
ALTER TABLE "Session" ADD COLUMN "userId" TEXT;

