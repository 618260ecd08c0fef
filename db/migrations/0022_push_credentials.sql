CREATE TABLE "tenant_push_credentials" (
	"tenant_id" text PRIMARY KEY NOT NULL,
	"project_id" text NOT NULL,
	"client_email" text NOT NULL,
	"credential_enc" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
