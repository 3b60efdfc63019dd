/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
/** Connection settings. Omit clientSecret to keep the stored one. */
export type ConnectionInput = {
  authorizationServer: string;
  clientId: string;
  clientSecret?: string | null | undefined;
  resourceServer: string;
  tenant?: string | null | undefined;
};

export type ConnectionStatus =
  | 'INVALID'
  | 'NOT_CONFIGURED'
  | 'VERIFIED';

export type LogLevel =
  | 'ERROR'
  | 'INFO'
  | 'WARNING';

/** Log level filter; ALL is the default. */
export type LogLevelFilter =
  | 'ALL'
  | 'ERROR'
  | 'INFO'
  | 'WARNING';

export type MappingStatus =
  | 'MAPPED'
  | 'RESPONSE_ERROR'
  | 'UNMAPPED';

/** What a log entry, a sync event or a run's message says, stable across versions: translate or render it with its params instead of the English text. LEGACY: written before codes existed; only the text says what it is. */
export type MessageCode =
  | 'CANCELLED_BEFORE_START'
  | 'CANCELLED_BY_USER'
  | 'CONFIGURATION_UPDATED'
  | 'CONNECTION_NOT_SAVED'
  | 'CONNECTION_SAVED'
  | 'CONNECTION_TEST_FAILED'
  | 'CONNECTION_TEST_SUCCEEDED'
  | 'CUSTOMERS_MISSING_FROM_HALO'
  | 'CUSTOMERS_SYNC_CANCELLED'
  | 'CUSTOMERS_SYNC_COMPLETED'
  | 'CUSTOMERS_SYNC_FAILED'
  | 'CUSTOMERS_SYNC_STARTED'
  | 'CUSTOMER_NOT_SYNCED'
  | 'EVENTS_MISSED'
  | 'HALO_CREDENTIALS_REFUSED'
  | 'HALO_ERROR'
  | 'HALO_PERMISSION_MISSING'
  | 'HALO_RATE_LIMITED'
  | 'HALO_UNAVAILABLE'
  | 'INTERNAL_ERROR'
  | 'LEGACY'
  | 'ORGANIZATION_MAPPED'
  | 'ORGANIZATION_NO_LONGER_MAPPED'
  | 'ORGANIZATION_REMAPPED'
  | 'ORGANIZATION_UNMAPPED'
  | 'RATE_LIMIT_GAVE_UP'
  | 'RATE_LIMIT_WAITING'
  | 'READBACK_INCOMPLETE'
  | 'RUN_ABANDONED'
  | 'RUN_TAKEN_OVER'
  | 'SCHEDULED_SYNC_SKIPPED'
  | 'SUBSCRIPTIONS_SYNC_CANCELLED'
  | 'SUBSCRIPTIONS_SYNC_COMPLETED'
  | 'SUBSCRIPTIONS_SYNC_FAILED'
  | 'SUBSCRIPTIONS_SYNC_STARTED'
  | 'SUBSCRIPTION_NOT_SYNCED'
  | 'SUBSCRIPTION_QUANTITY_ZERO'
  | 'SUBSCRIPTION_SKIPPED'
  | 'SUGGESTED_MAPPINGS_APPLIED'
  | 'SYNC_CANCELLED'
  | 'SYNC_COMPLETED'
  | 'SYNC_FAILED'
  | 'SYNC_IN_PROGRESS'
  | 'SYNC_PROGRESS'
  | 'SYNC_QUEUED';

export type OrganizationFilter = {
  mappingStatus?: Array<MappingStatus> | null | undefined;
  psaStatus?: Array<PsaStatus> | null | undefined;
  status?: Array<string> | null | undefined;
};

export type OrganizationSort = {
  direction?: SortDirection;
  field?: OrganizationSortField;
};

export type OrganizationSortField =
  | 'NAME'
  | 'REFERENCE'
  | 'STATUS';

export type PsaStatus =
  | 'ACTIVE'
  | 'INACTIVE';

/** Life of one run: QUEUED → RUNNING → SUCCEEDED | FAILED | CANCELLED. */
export type RunState =
  | 'CANCELLED'
  | 'FAILED'
  | 'QUEUED'
  | 'RUNNING'
  | 'SUCCEEDED';

export type SortDirection =
  | 'ASC'
  | 'DESC';

/** What a sync button shows. */
export type SyncButtonState =
  | 'COOLDOWN'
  | 'IDLE'
  | 'IN_PROGRESS';

/** What a sync moves: organisations from HaloPSA, or subscriptions to it. */
export type SyncKind =
  | 'ORGANIZATIONS'
  | 'SUBSCRIPTIONS';

export type SyncPhase =
  | 'CANCELLED'
  | 'COMPLETED'
  | 'FAILED'
  | 'PROGRESS'
  | 'QUEUED'
  | 'RESYNC'
  | 'STARTED';

export type SyncScope =
  | 'ALL'
  | 'ORGANIZATION';

export type ConnectionSettingsQueryVariables = Exact<{ [key: string]: never; }>;


export type ConnectionSettingsQuery = { connection: { clientId: string | null, secretSet: boolean, secretLast4: string | null, resourceServer: string | null, authorizationServer: string | null, tenant: string | null, status: ConnectionStatus, verifiedAt: string | null } };

export type TestConnectionMutationVariables = Exact<{
  input: ConnectionInput;
}>;


export type TestConnectionMutation = { testConnection: { success: boolean, message: string, reason: string, reasonCode: string } };

export type SaveConnectionMutationVariables = Exact<{
  input: ConnectionInput;
}>;


export type SaveConnectionMutation = { saveConnection: { message: string, organizationsSyncQueued: boolean, connection: { clientId: string | null, secretSet: boolean, secretLast4: string | null, resourceServer: string | null, authorizationServer: string | null, tenant: string | null, status: ConnectionStatus, verifiedAt: string | null } } };

export type ConfigurationQueryVariables = Exact<{ [key: string]: never; }>;


export type ConfigurationQuery = { configuration: { syncUnitPrices: boolean } };

export type SetSyncUnitPricesMutationVariables = Exact<{
  enabled: boolean;
}>;


export type SetSyncUnitPricesMutation = { setSyncUnitPrices: { message: string, configuration: { syncUnitPrices: boolean } } };

export type LogOverviewQueryVariables = Exact<{ [key: string]: never; }>;


export type LogOverviewQuery = { logOverview: { total: number, errors: number, warnings: number, lastUpdate: string | null, lastUpdateRelative: string | null } };

export type LogsQueryVariables = Exact<{
  level: LogLevelFilter;
  page: number;
  pageSize: number;
}>;


export type LogsQuery = { logs: { total: number, page: number, pageSize: number, pageCount: number, range: string, entries: Array<{ id: string, level: LogLevel, timestamp: string, title: string, details: string, code: MessageCode }> } };

export type SyncActivityQueryVariables = Exact<{
  days: number;
  utcOffsetMinutes: number;
}>;


export type SyncActivityQuery = { syncActivity: Array<{ day: string, succeeded: number, failed: number, cancelled: number, recordsWritten: number }> };

export type GridRowFragment = { id: string, name: string, reference: string, status: string, psaOrganizationId: number | null, psaOrganizationName: string | null, psaOrganizationStatus: PsaStatus | null, mappingStatus: MappingStatus, mappingStatusTooltip: string | null, canSyncSubscriptions: boolean };

export type OrganizationsQueryVariables = Exact<{
  search?: string | null | undefined;
  filter?: OrganizationFilter | null | undefined;
  sort?: OrganizationSort | null | undefined;
  page: number;
  pageSize: number;
}>;


export type OrganizationsQuery = { organizations: { total: number, page: number, pageSize: number, pageCount: number, range: string, rows: Array<{ id: string, name: string, reference: string, status: string, psaOrganizationId: number | null, psaOrganizationName: string | null, psaOrganizationStatus: PsaStatus | null, mappingStatus: MappingStatus, mappingStatusTooltip: string | null, canSyncSubscriptions: boolean }> } };

export type PsaOrganizationsQueryVariables = Exact<{
  search?: string | null | undefined;
  first: number;
}>;


export type PsaOrganizationsQuery = { psaOrganizations: Array<{ id: number, name: string, status: PsaStatus }> };

export type MapOrganizationMutationVariables = Exact<{
  organizationId: string | number;
  psaOrganizationId: string | number;
}>;


export type MapOrganizationMutation = { mapOrganization: { id: string, name: string, reference: string, status: string, psaOrganizationId: number | null, psaOrganizationName: string | null, psaOrganizationStatus: PsaStatus | null, mappingStatus: MappingStatus, mappingStatusTooltip: string | null, canSyncSubscriptions: boolean } };

export type UnmapOrganizationMutationVariables = Exact<{
  organizationId: string | number;
}>;


export type UnmapOrganizationMutation = { unmapOrganization: { id: string, name: string, reference: string, status: string, psaOrganizationId: number | null, psaOrganizationName: string | null, psaOrganizationStatus: PsaStatus | null, mappingStatus: MappingStatus, mappingStatusTooltip: string | null, canSyncSubscriptions: boolean } };

export type ViewerQueryVariables = Exact<{ [key: string]: never; }>;


export type ViewerQuery = { viewer: { subject: string, sellerId: string, roles: Array<string> }, connection: { status: ConnectionStatus } };

export type IssueSessionTokenMutationVariables = Exact<{ [key: string]: never; }>;


export type IssueSessionTokenMutation = { issueSessionToken: { token: string, expiresAt: string } };

export type RunFieldsFragment = { id: string, kind: SyncKind, scope: SyncScope, organizationId: string | null, organizationName: string | null, state: RunState, total: number, processed: number, created: number, updated: number, failed: number, message: string | null, startedAt: string | null, finishedAt: string | null };

export type KindStatusFragment = { kind: SyncKind, state: SyncButtonState, message: string | null, nextAllowedAt: string | null, retryAfterSeconds: number, currentRun: { id: string, kind: SyncKind, scope: SyncScope, organizationId: string | null, organizationName: string | null, state: RunState, total: number, processed: number, created: number, updated: number, failed: number, message: string | null, startedAt: string | null, finishedAt: string | null } | null, lastRun: { id: string, kind: SyncKind, scope: SyncScope, organizationId: string | null, organizationName: string | null, state: RunState, total: number, processed: number, created: number, updated: number, failed: number, message: string | null, startedAt: string | null, finishedAt: string | null } | null };

export type OverviewFragment = { lastSyncToPlatform: { at: string | null, relative: string | null }, lastSyncToPsa: { at: string | null, relative: string | null }, organizations: { kind: SyncKind, state: SyncButtonState, message: string | null, nextAllowedAt: string | null, retryAfterSeconds: number, currentRun: { id: string, kind: SyncKind, scope: SyncScope, organizationId: string | null, organizationName: string | null, state: RunState, total: number, processed: number, created: number, updated: number, failed: number, message: string | null, startedAt: string | null, finishedAt: string | null } | null, lastRun: { id: string, kind: SyncKind, scope: SyncScope, organizationId: string | null, organizationName: string | null, state: RunState, total: number, processed: number, created: number, updated: number, failed: number, message: string | null, startedAt: string | null, finishedAt: string | null } | null }, subscriptions: { kind: SyncKind, state: SyncButtonState, message: string | null, nextAllowedAt: string | null, retryAfterSeconds: number, currentRun: { id: string, kind: SyncKind, scope: SyncScope, organizationId: string | null, organizationName: string | null, state: RunState, total: number, processed: number, created: number, updated: number, failed: number, message: string | null, startedAt: string | null, finishedAt: string | null } | null, lastRun: { id: string, kind: SyncKind, scope: SyncScope, organizationId: string | null, organizationName: string | null, state: RunState, total: number, processed: number, created: number, updated: number, failed: number, message: string | null, startedAt: string | null, finishedAt: string | null } | null } };

export type SyncOverviewChangedSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type SyncOverviewChangedSubscription = { syncOverviewChanged: { lastSyncToPlatform: { at: string | null, relative: string | null }, lastSyncToPsa: { at: string | null, relative: string | null }, organizations: { kind: SyncKind, state: SyncButtonState, message: string | null, nextAllowedAt: string | null, retryAfterSeconds: number, currentRun: { id: string, kind: SyncKind, scope: SyncScope, organizationId: string | null, organizationName: string | null, state: RunState, total: number, processed: number, created: number, updated: number, failed: number, message: string | null, startedAt: string | null, finishedAt: string | null } | null, lastRun: { id: string, kind: SyncKind, scope: SyncScope, organizationId: string | null, organizationName: string | null, state: RunState, total: number, processed: number, created: number, updated: number, failed: number, message: string | null, startedAt: string | null, finishedAt: string | null } | null }, subscriptions: { kind: SyncKind, state: SyncButtonState, message: string | null, nextAllowedAt: string | null, retryAfterSeconds: number, currentRun: { id: string, kind: SyncKind, scope: SyncScope, organizationId: string | null, organizationName: string | null, state: RunState, total: number, processed: number, created: number, updated: number, failed: number, message: string | null, startedAt: string | null, finishedAt: string | null } | null, lastRun: { id: string, kind: SyncKind, scope: SyncScope, organizationId: string | null, organizationName: string | null, state: RunState, total: number, processed: number, created: number, updated: number, failed: number, message: string | null, startedAt: string | null, finishedAt: string | null } | null } } };

export type SyncEventsSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type SyncEventsSubscription = { syncEvents: { runId: string, kind: string, scope: string, phase: SyncPhase, organizationId: string | null, organizationName: string | null, processed: number, total: number, message: string | null, code: MessageCode, at: string } };

export type SyncOrganizationsMutationVariables = Exact<{ [key: string]: never; }>;


export type SyncOrganizationsMutation = { syncOrganizations: { id: string, kind: SyncKind, scope: SyncScope, organizationId: string | null, organizationName: string | null, state: RunState, total: number, processed: number, created: number, updated: number, failed: number, message: string | null, startedAt: string | null, finishedAt: string | null } };

export type SyncSubscriptionsMutationVariables = Exact<{ [key: string]: never; }>;


export type SyncSubscriptionsMutation = { syncSubscriptions: { id: string, kind: SyncKind, scope: SyncScope, organizationId: string | null, organizationName: string | null, state: RunState, total: number, processed: number, created: number, updated: number, failed: number, message: string | null, startedAt: string | null, finishedAt: string | null } };

export type SyncOrganizationSubscriptionsMutationVariables = Exact<{
  organizationId: string | number;
}>;


export type SyncOrganizationSubscriptionsMutation = { syncOrganizationSubscriptions: { id: string, kind: SyncKind, scope: SyncScope, organizationId: string | null, organizationName: string | null, state: RunState, total: number, processed: number, created: number, updated: number, failed: number, message: string | null, startedAt: string | null, finishedAt: string | null } };

export type SyncOverviewQueryVariables = Exact<{ [key: string]: never; }>;


export type SyncOverviewQuery = { syncOverview: { lastSyncToPlatform: { at: string | null, relative: string | null }, lastSyncToPsa: { at: string | null, relative: string | null }, organizations: { kind: SyncKind, state: SyncButtonState, message: string | null, nextAllowedAt: string | null, retryAfterSeconds: number, currentRun: { id: string, kind: SyncKind, scope: SyncScope, organizationId: string | null, organizationName: string | null, state: RunState, total: number, processed: number, created: number, updated: number, failed: number, message: string | null, startedAt: string | null, finishedAt: string | null } | null, lastRun: { id: string, kind: SyncKind, scope: SyncScope, organizationId: string | null, organizationName: string | null, state: RunState, total: number, processed: number, created: number, updated: number, failed: number, message: string | null, startedAt: string | null, finishedAt: string | null } | null }, subscriptions: { kind: SyncKind, state: SyncButtonState, message: string | null, nextAllowedAt: string | null, retryAfterSeconds: number, currentRun: { id: string, kind: SyncKind, scope: SyncScope, organizationId: string | null, organizationName: string | null, state: RunState, total: number, processed: number, created: number, updated: number, failed: number, message: string | null, startedAt: string | null, finishedAt: string | null } | null, lastRun: { id: string, kind: SyncKind, scope: SyncScope, organizationId: string | null, organizationName: string | null, state: RunState, total: number, processed: number, created: number, updated: number, failed: number, message: string | null, startedAt: string | null, finishedAt: string | null } | null } } };

export const GridRowFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"GridRow"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"OrganizationRow"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"reference"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"psaOrganizationId"}},{"kind":"Field","name":{"kind":"Name","value":"psaOrganizationName"}},{"kind":"Field","name":{"kind":"Name","value":"psaOrganizationStatus"}},{"kind":"Field","name":{"kind":"Name","value":"mappingStatus"}},{"kind":"Field","name":{"kind":"Name","value":"mappingStatusTooltip"}},{"kind":"Field","name":{"kind":"Name","value":"canSyncSubscriptions"}}]}}]} as unknown as DocumentNode<GridRowFragment, unknown>;
export const RunFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RunFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"SyncRun"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"scope"}},{"kind":"Field","name":{"kind":"Name","value":"organizationId"}},{"kind":"Field","name":{"kind":"Name","value":"organizationName"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"processed"}},{"kind":"Field","name":{"kind":"Name","value":"created"}},{"kind":"Field","name":{"kind":"Name","value":"updated"}},{"kind":"Field","name":{"kind":"Name","value":"failed"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}},{"kind":"Field","name":{"kind":"Name","value":"finishedAt"}}]}}]} as unknown as DocumentNode<RunFieldsFragment, unknown>;
export const KindStatusFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"KindStatus"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"SyncKindStatus"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"nextAllowedAt"}},{"kind":"Field","name":{"kind":"Name","value":"retryAfterSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"currentRun"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"RunFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"lastRun"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"RunFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RunFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"SyncRun"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"scope"}},{"kind":"Field","name":{"kind":"Name","value":"organizationId"}},{"kind":"Field","name":{"kind":"Name","value":"organizationName"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"processed"}},{"kind":"Field","name":{"kind":"Name","value":"created"}},{"kind":"Field","name":{"kind":"Name","value":"updated"}},{"kind":"Field","name":{"kind":"Name","value":"failed"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}},{"kind":"Field","name":{"kind":"Name","value":"finishedAt"}}]}}]} as unknown as DocumentNode<KindStatusFragment, unknown>;
export const OverviewFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"Overview"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"SyncOverview"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"lastSyncToPlatform"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"relative"}}]}},{"kind":"Field","name":{"kind":"Name","value":"lastSyncToPsa"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"relative"}}]}},{"kind":"Field","name":{"kind":"Name","value":"organizations"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"KindStatus"}}]}},{"kind":"Field","name":{"kind":"Name","value":"subscriptions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"KindStatus"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RunFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"SyncRun"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"scope"}},{"kind":"Field","name":{"kind":"Name","value":"organizationId"}},{"kind":"Field","name":{"kind":"Name","value":"organizationName"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"processed"}},{"kind":"Field","name":{"kind":"Name","value":"created"}},{"kind":"Field","name":{"kind":"Name","value":"updated"}},{"kind":"Field","name":{"kind":"Name","value":"failed"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}},{"kind":"Field","name":{"kind":"Name","value":"finishedAt"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"KindStatus"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"SyncKindStatus"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"nextAllowedAt"}},{"kind":"Field","name":{"kind":"Name","value":"retryAfterSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"currentRun"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"RunFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"lastRun"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"RunFields"}}]}}]}}]} as unknown as DocumentNode<OverviewFragment, unknown>;
export const ConnectionSettingsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ConnectionSettings"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"connection"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"clientId"}},{"kind":"Field","name":{"kind":"Name","value":"secretSet"}},{"kind":"Field","name":{"kind":"Name","value":"secretLast4"}},{"kind":"Field","name":{"kind":"Name","value":"resourceServer"}},{"kind":"Field","name":{"kind":"Name","value":"authorizationServer"}},{"kind":"Field","name":{"kind":"Name","value":"tenant"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"verifiedAt"}}]}}]}}]} as unknown as DocumentNode<ConnectionSettingsQuery, ConnectionSettingsQueryVariables>;
export const TestConnectionDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"TestConnection"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ConnectionInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"testConnection"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"success"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}},{"kind":"Field","name":{"kind":"Name","value":"reasonCode"}}]}}]}}]} as unknown as DocumentNode<TestConnectionMutation, TestConnectionMutationVariables>;
export const SaveConnectionDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"SaveConnection"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ConnectionInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"saveConnection"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"organizationsSyncQueued"}},{"kind":"Field","name":{"kind":"Name","value":"connection"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"clientId"}},{"kind":"Field","name":{"kind":"Name","value":"secretSet"}},{"kind":"Field","name":{"kind":"Name","value":"secretLast4"}},{"kind":"Field","name":{"kind":"Name","value":"resourceServer"}},{"kind":"Field","name":{"kind":"Name","value":"authorizationServer"}},{"kind":"Field","name":{"kind":"Name","value":"tenant"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"verifiedAt"}}]}}]}}]}}]} as unknown as DocumentNode<SaveConnectionMutation, SaveConnectionMutationVariables>;
export const ConfigurationDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Configuration"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"configuration"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"syncUnitPrices"}}]}}]}}]} as unknown as DocumentNode<ConfigurationQuery, ConfigurationQueryVariables>;
export const SetSyncUnitPricesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"SetSyncUnitPrices"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"enabled"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Boolean"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"setSyncUnitPrices"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"enabled"},"value":{"kind":"Variable","name":{"kind":"Name","value":"enabled"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"configuration"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"syncUnitPrices"}}]}}]}}]}}]} as unknown as DocumentNode<SetSyncUnitPricesMutation, SetSyncUnitPricesMutationVariables>;
export const LogOverviewDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"LogOverview"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"logOverview"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"errors"}},{"kind":"Field","name":{"kind":"Name","value":"warnings"}},{"kind":"Field","name":{"kind":"Name","value":"lastUpdate"}},{"kind":"Field","name":{"kind":"Name","value":"lastUpdateRelative"}}]}}]}}]} as unknown as DocumentNode<LogOverviewQuery, LogOverviewQueryVariables>;
export const LogsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Logs"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"level"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"LogLevelFilter"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"page"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"pageSize"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"logs"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"level"},"value":{"kind":"Variable","name":{"kind":"Name","value":"level"}}},{"kind":"Argument","name":{"kind":"Name","value":"page"},"value":{"kind":"Variable","name":{"kind":"Name","value":"page"}}},{"kind":"Argument","name":{"kind":"Name","value":"pageSize"},"value":{"kind":"Variable","name":{"kind":"Name","value":"pageSize"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"entries"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"level"}},{"kind":"Field","name":{"kind":"Name","value":"timestamp"}},{"kind":"Field","name":{"kind":"Name","value":"title"}},{"kind":"Field","name":{"kind":"Name","value":"details"}},{"kind":"Field","name":{"kind":"Name","value":"code"}}]}},{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"page"}},{"kind":"Field","name":{"kind":"Name","value":"pageSize"}},{"kind":"Field","name":{"kind":"Name","value":"pageCount"}},{"kind":"Field","name":{"kind":"Name","value":"range"}}]}}]}}]} as unknown as DocumentNode<LogsQuery, LogsQueryVariables>;
export const SyncActivityDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"SyncActivity"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"days"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"utcOffsetMinutes"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"syncActivity"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"days"},"value":{"kind":"Variable","name":{"kind":"Name","value":"days"}}},{"kind":"Argument","name":{"kind":"Name","value":"utcOffsetMinutes"},"value":{"kind":"Variable","name":{"kind":"Name","value":"utcOffsetMinutes"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"day"}},{"kind":"Field","name":{"kind":"Name","value":"succeeded"}},{"kind":"Field","name":{"kind":"Name","value":"failed"}},{"kind":"Field","name":{"kind":"Name","value":"cancelled"}},{"kind":"Field","name":{"kind":"Name","value":"recordsWritten"}}]}}]}}]} as unknown as DocumentNode<SyncActivityQuery, SyncActivityQueryVariables>;
export const OrganizationsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Organizations"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"search"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"OrganizationFilter"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"sort"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"OrganizationSort"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"page"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"pageSize"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"organizations"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"search"},"value":{"kind":"Variable","name":{"kind":"Name","value":"search"}}},{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}},{"kind":"Argument","name":{"kind":"Name","value":"sort"},"value":{"kind":"Variable","name":{"kind":"Name","value":"sort"}}},{"kind":"Argument","name":{"kind":"Name","value":"page"},"value":{"kind":"Variable","name":{"kind":"Name","value":"page"}}},{"kind":"Argument","name":{"kind":"Name","value":"pageSize"},"value":{"kind":"Variable","name":{"kind":"Name","value":"pageSize"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"rows"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"GridRow"}}]}},{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"page"}},{"kind":"Field","name":{"kind":"Name","value":"pageSize"}},{"kind":"Field","name":{"kind":"Name","value":"pageCount"}},{"kind":"Field","name":{"kind":"Name","value":"range"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"GridRow"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"OrganizationRow"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"reference"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"psaOrganizationId"}},{"kind":"Field","name":{"kind":"Name","value":"psaOrganizationName"}},{"kind":"Field","name":{"kind":"Name","value":"psaOrganizationStatus"}},{"kind":"Field","name":{"kind":"Name","value":"mappingStatus"}},{"kind":"Field","name":{"kind":"Name","value":"mappingStatusTooltip"}},{"kind":"Field","name":{"kind":"Name","value":"canSyncSubscriptions"}}]}}]} as unknown as DocumentNode<OrganizationsQuery, OrganizationsQueryVariables>;
export const PsaOrganizationsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"PsaOrganizations"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"search"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"psaOrganizations"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"search"},"value":{"kind":"Variable","name":{"kind":"Name","value":"search"}}},{"kind":"Argument","name":{"kind":"Name","value":"onlyUnmapped"},"value":{"kind":"BooleanValue","value":true}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]} as unknown as DocumentNode<PsaOrganizationsQuery, PsaOrganizationsQueryVariables>;
export const MapOrganizationDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"MapOrganization"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"organizationId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"psaOrganizationId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"mapOrganization"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"organizationId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"organizationId"}}},{"kind":"Argument","name":{"kind":"Name","value":"psaOrganizationId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"psaOrganizationId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"GridRow"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"GridRow"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"OrganizationRow"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"reference"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"psaOrganizationId"}},{"kind":"Field","name":{"kind":"Name","value":"psaOrganizationName"}},{"kind":"Field","name":{"kind":"Name","value":"psaOrganizationStatus"}},{"kind":"Field","name":{"kind":"Name","value":"mappingStatus"}},{"kind":"Field","name":{"kind":"Name","value":"mappingStatusTooltip"}},{"kind":"Field","name":{"kind":"Name","value":"canSyncSubscriptions"}}]}}]} as unknown as DocumentNode<MapOrganizationMutation, MapOrganizationMutationVariables>;
export const UnmapOrganizationDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"UnmapOrganization"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"organizationId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"unmapOrganization"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"organizationId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"organizationId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"GridRow"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"GridRow"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"OrganizationRow"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"reference"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"psaOrganizationId"}},{"kind":"Field","name":{"kind":"Name","value":"psaOrganizationName"}},{"kind":"Field","name":{"kind":"Name","value":"psaOrganizationStatus"}},{"kind":"Field","name":{"kind":"Name","value":"mappingStatus"}},{"kind":"Field","name":{"kind":"Name","value":"mappingStatusTooltip"}},{"kind":"Field","name":{"kind":"Name","value":"canSyncSubscriptions"}}]}}]} as unknown as DocumentNode<UnmapOrganizationMutation, UnmapOrganizationMutationVariables>;
export const ViewerDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Viewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"viewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"subject"}},{"kind":"Field","name":{"kind":"Name","value":"sellerId"}},{"kind":"Field","name":{"kind":"Name","value":"roles"}}]}},{"kind":"Field","name":{"kind":"Name","value":"connection"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]} as unknown as DocumentNode<ViewerQuery, ViewerQueryVariables>;
export const IssueSessionTokenDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"IssueSessionToken"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"issueSessionToken"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"token"}},{"kind":"Field","name":{"kind":"Name","value":"expiresAt"}}]}}]}}]} as unknown as DocumentNode<IssueSessionTokenMutation, IssueSessionTokenMutationVariables>;
export const SyncOverviewChangedDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"SyncOverviewChanged"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"syncOverviewChanged"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"Overview"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RunFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"SyncRun"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"scope"}},{"kind":"Field","name":{"kind":"Name","value":"organizationId"}},{"kind":"Field","name":{"kind":"Name","value":"organizationName"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"processed"}},{"kind":"Field","name":{"kind":"Name","value":"created"}},{"kind":"Field","name":{"kind":"Name","value":"updated"}},{"kind":"Field","name":{"kind":"Name","value":"failed"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}},{"kind":"Field","name":{"kind":"Name","value":"finishedAt"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"KindStatus"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"SyncKindStatus"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"nextAllowedAt"}},{"kind":"Field","name":{"kind":"Name","value":"retryAfterSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"currentRun"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"RunFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"lastRun"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"RunFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"Overview"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"SyncOverview"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"lastSyncToPlatform"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"relative"}}]}},{"kind":"Field","name":{"kind":"Name","value":"lastSyncToPsa"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"relative"}}]}},{"kind":"Field","name":{"kind":"Name","value":"organizations"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"KindStatus"}}]}},{"kind":"Field","name":{"kind":"Name","value":"subscriptions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"KindStatus"}}]}}]}}]} as unknown as DocumentNode<SyncOverviewChangedSubscription, SyncOverviewChangedSubscriptionVariables>;
export const SyncEventsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"SyncEvents"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"syncEvents"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"runId"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"scope"}},{"kind":"Field","name":{"kind":"Name","value":"phase"}},{"kind":"Field","name":{"kind":"Name","value":"organizationId"}},{"kind":"Field","name":{"kind":"Name","value":"organizationName"}},{"kind":"Field","name":{"kind":"Name","value":"processed"}},{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"at"}}]}}]}}]} as unknown as DocumentNode<SyncEventsSubscription, SyncEventsSubscriptionVariables>;
export const SyncOrganizationsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"SyncOrganizations"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"syncOrganizations"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"RunFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RunFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"SyncRun"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"scope"}},{"kind":"Field","name":{"kind":"Name","value":"organizationId"}},{"kind":"Field","name":{"kind":"Name","value":"organizationName"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"processed"}},{"kind":"Field","name":{"kind":"Name","value":"created"}},{"kind":"Field","name":{"kind":"Name","value":"updated"}},{"kind":"Field","name":{"kind":"Name","value":"failed"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}},{"kind":"Field","name":{"kind":"Name","value":"finishedAt"}}]}}]} as unknown as DocumentNode<SyncOrganizationsMutation, SyncOrganizationsMutationVariables>;
export const SyncSubscriptionsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"SyncSubscriptions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"syncSubscriptions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"RunFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RunFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"SyncRun"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"scope"}},{"kind":"Field","name":{"kind":"Name","value":"organizationId"}},{"kind":"Field","name":{"kind":"Name","value":"organizationName"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"processed"}},{"kind":"Field","name":{"kind":"Name","value":"created"}},{"kind":"Field","name":{"kind":"Name","value":"updated"}},{"kind":"Field","name":{"kind":"Name","value":"failed"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}},{"kind":"Field","name":{"kind":"Name","value":"finishedAt"}}]}}]} as unknown as DocumentNode<SyncSubscriptionsMutation, SyncSubscriptionsMutationVariables>;
export const SyncOrganizationSubscriptionsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"SyncOrganizationSubscriptions"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"organizationId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"syncOrganizationSubscriptions"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"organizationId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"organizationId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"RunFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RunFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"SyncRun"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"scope"}},{"kind":"Field","name":{"kind":"Name","value":"organizationId"}},{"kind":"Field","name":{"kind":"Name","value":"organizationName"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"processed"}},{"kind":"Field","name":{"kind":"Name","value":"created"}},{"kind":"Field","name":{"kind":"Name","value":"updated"}},{"kind":"Field","name":{"kind":"Name","value":"failed"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}},{"kind":"Field","name":{"kind":"Name","value":"finishedAt"}}]}}]} as unknown as DocumentNode<SyncOrganizationSubscriptionsMutation, SyncOrganizationSubscriptionsMutationVariables>;
export const SyncOverviewDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"SyncOverview"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"syncOverview"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"Overview"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RunFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"SyncRun"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"scope"}},{"kind":"Field","name":{"kind":"Name","value":"organizationId"}},{"kind":"Field","name":{"kind":"Name","value":"organizationName"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"processed"}},{"kind":"Field","name":{"kind":"Name","value":"created"}},{"kind":"Field","name":{"kind":"Name","value":"updated"}},{"kind":"Field","name":{"kind":"Name","value":"failed"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}},{"kind":"Field","name":{"kind":"Name","value":"finishedAt"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"KindStatus"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"SyncKindStatus"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"nextAllowedAt"}},{"kind":"Field","name":{"kind":"Name","value":"retryAfterSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"currentRun"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"RunFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"lastRun"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"RunFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"Overview"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"SyncOverview"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"lastSyncToPlatform"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"relative"}}]}},{"kind":"Field","name":{"kind":"Name","value":"lastSyncToPsa"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"relative"}}]}},{"kind":"Field","name":{"kind":"Name","value":"organizations"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"KindStatus"}}]}},{"kind":"Field","name":{"kind":"Name","value":"subscriptions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"KindStatus"}}]}}]}}]} as unknown as DocumentNode<SyncOverviewQuery, SyncOverviewQueryVariables>;