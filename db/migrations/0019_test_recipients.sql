CREATE TABLE "test_recipients" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" text NOT NULL,
	"email" text NOT NULL,
	"code_hash" text,
	"code_expires_at" timestamp with time zone,
	"failed_attempts" integer DEFAULT 0 NOT NULL,
	"confirmed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "test_sends" ALTER COLUMN "type_key" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "test_sends" ALTER COLUMN "version" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "test_sends" ADD COLUMN "purpose" text DEFAULT 'template' NOT NULL;--> statement-breakpoint
ALTER TABLE "test_recipients" ADD CONSTRAINT "test_recipients_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "test_recipients_tenant_email_idx" ON "test_recipients" USING btree ("tenant_id","email");--> statement-breakpoint
CREATE INDEX "test_sends_tenant_created_idx" ON "test_sends" USING btree ("tenant_id","created_at");