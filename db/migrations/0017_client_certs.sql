CREATE TABLE "tenant_client_certs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" text NOT NULL,
	"fingerprint" text NOT NULL,
	"name" text NOT NULL,
	"subject" text,
	"not_after" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "tenant_client_certs" ADD CONSTRAINT "tenant_client_certs_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "tenant_client_certs_fingerprint_idx" ON "tenant_client_certs" USING btree ("fingerprint");--> statement-breakpoint
CREATE INDEX "tenant_client_certs_tenant_idx" ON "tenant_client_certs" USING btree ("tenant_id");