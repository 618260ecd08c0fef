ALTER TABLE "api_keys" ADD COLUMN "name" text DEFAULT 'default' NOT NULL;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "scopes" text[] DEFAULT '{send,manage}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "last_used_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sending_domains" ADD COLUMN "dkim_verified_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sending_domains" ADD COLUMN "status" text DEFAULT 'pending' NOT NULL;--> statement-breakpoint
ALTER TABLE "sending_domains" ADD COLUMN "first_verified_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sending_domains" ADD COLUMN "last_checked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sending_domains" ADD COLUMN "last_check" jsonb;--> statement-breakpoint
ALTER TABLE "sending_domains" ADD COLUMN "pending_selector" text;--> statement-breakpoint
ALTER TABLE "sending_domains" ADD COLUMN "pending_private_key_enc" text;--> statement-breakpoint
ALTER TABLE "sending_domains" ADD COLUMN "pending_public_key" text;--> statement-breakpoint
ALTER TABLE "sending_domains" ADD COLUMN "retired_selector" text;--> statement-breakpoint
ALTER TABLE "sending_domains" ADD COLUMN "retired_public_key" text;--> statement-breakpoint
ALTER TABLE "sending_domains" ADD COLUMN "retired_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sending_domains" ADD COLUMN "rotate_every_days" integer;--> statement-breakpoint
ALTER TABLE "sending_domains" ADD COLUMN "dkim_created_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "status" text DEFAULT 'active' NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "status_reason" text;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "status_changed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "sandbox" boolean DEFAULT false NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "sending_domains_domain_idx" ON "sending_domains" USING btree ("domain");--> statement-breakpoint
-- Domains that existed before DNS checks were provisioned in code, their records vouched for by the operator: they keep sending.
UPDATE "sending_domains" SET "dkim_verified_at" = "created_at", "status" = 'verified', "first_verified_at" = "created_at";
