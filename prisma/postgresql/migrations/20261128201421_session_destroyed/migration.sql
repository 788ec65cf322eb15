-- AlterTable
ALTER TABLE "Session" ADD COLUMN     "destroyed" BOOLEAN NOT NULL DEFAULT false;

