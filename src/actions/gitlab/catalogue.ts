/**
 * THE table the `com.datadoghq.gitlab.*` actions are generated from: one row per action, as the
 * vendor's bundles (DataDog/datadog-agent `pkg/privateactionrunner/bundles/gitlab/<family>`) call
 * the GitLab REST API through go-gitlab. A row is the action name, the HTTP method, the path under
 * `/api/v4/` with `{input}` placeholders (each one a required input, sent URL-encoded in the path),
 * and the key the vendor wraps the decoded JSON answer in (`''`: the vendor answers `{}`).
 * Every other input goes where go-gitlab puts an options struct: the query string for GET and
 * HEAD, the JSON body otherwise. A few actions the vendor wrote by hand have a `special` shape.
 *
 * Kept as data so a unit test can check every row (unique FQN, well-formed path) and so adding
 * an action is one line.
 */

export type GitlabMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * How an action departs from "send, decode JSON, wrap under the key":
 * - rawBlob: bytes; `decode: true` gives them as UTF-8 text, else base64 (`{content, encoding}`).
 * - rawFile: bytes; `encoding` input `utf-8` (default) or `base64` (`{content}`).
 * - archive: bytes as base64 (`{content, encoding}`); the `format` input becomes the path suffix.
 * - fileMeta: HEAD; the answer is GitLab's `X-Gitlab-*` headers, read into a File object.
 * - graphql: POST `/api/graphql` `{query, variables}`; the answer wrapped under `result`.
 * - projectOptions: `name`, `path`, `default_branch`, `description` merged over the `options` object.
 * - serviceAccount: the created user reduced to id, name, username, email.
 */
export type GitlabSpecial = 'rawBlob' | 'rawFile' | 'archive' | 'fileMeta' | 'graphql' | 'projectOptions' | 'serviceAccount';

export interface GitlabActionSpec {
  readonly family: string;
  readonly name: string;
  readonly method: GitlabMethod;
  /** Relative to `<baseURL>/api/v4/`; `{x}` is the input `x`. */
  readonly path: string;
  /** The output key the answer is wrapped in; '' for an empty output object. */
  readonly output: string;
  readonly special?: GitlabSpecial | undefined;
}

type Row = readonly [name: string, method: GitlabMethod, path: string, output: string, special?: GitlabSpecial];

const P = 'projects/{project_id}';
const MR = `${P}/merge_requests/{merge_request_iid}`;
const ISSUE = `${P}/issues/{issue_iid}`;
const REPO = `${P}/repository`;

const FAMILIES: Readonly<Record<string, readonly Row[]>> = {
  branches: [
    ['createBranch', 'POST', `${REPO}/branches`, 'branch'],
    ['deleteBranch', 'DELETE', `${REPO}/branches/{branch}`, ''],
    ['deleteMergedBranches', 'DELETE', `${REPO}/merged_branches`, ''],
    ['getBranch', 'GET', `${REPO}/branches/{branch}`, 'branch'],
    ['listBranches', 'GET', `${REPO}/branches`, 'branches'],
  ],
  commits: [
    ['revertCommit', 'POST', `${REPO}/commits/{sha}/revert`, 'commit'],
    ['cherryPickCommit', 'POST', `${REPO}/commits/{sha}/cherry_pick`, 'commit'],
    ['createCommit', 'POST', `${REPO}/commits`, 'commit'],
    ['getCommit', 'GET', `${REPO}/commits/{sha}`, 'commit'],
    ['getCommitComments', 'GET', `${REPO}/commits/{sha}/comments`, 'commit_comments'],
    ['getCommitDiff', 'GET', `${REPO}/commits/{sha}/diff`, 'diffs'],
    ['getCommitRefs', 'GET', `${REPO}/commits/{sha}/refs`, 'commit_refs'],
    ['getCommitStatuses', 'GET', `${REPO}/commits/{sha}/statuses`, 'commit_statuses'],
    ['getGPGSignature', 'GET', `${REPO}/commits/{sha}/signature`, 'gpg_signature'],
    ['listCommits', 'GET', `${REPO}/commits`, 'commits'],
    ['listMergeRequestsByCommit', 'GET', `${REPO}/commits/{sha}/merge_requests`, 'merge_requests'],
    ['postCommitComment', 'POST', `${REPO}/commits/{sha}/comments`, 'commit_comment'],
    ['setCommitStatus', 'POST', `${P}/statuses/{sha}`, 'commit_status'],
  ],
  customattributes: [
    ['deleteCustomGroupAttribute', 'DELETE', 'groups/{group_id}/custom_attributes/{key}', ''],
    ['deleteCustomProjectAttribute', 'DELETE', `${P}/custom_attributes/{key}`, ''],
    ['deleteCustomUserAttribute', 'DELETE', 'users/{user_id}/custom_attributes/{key}', ''],
    ['getCustomGroupAttribute', 'GET', 'groups/{group_id}/custom_attributes/{key}', 'custom_attribute'],
    ['getCustomProjectAttribute', 'GET', `${P}/custom_attributes/{key}`, 'custom_attribute'],
    ['getCustomUserAttribute', 'GET', 'users/{user_id}/custom_attributes/{key}', 'custom_attribute'],
    ['listCustomGroupAttributes', 'GET', 'groups/{group_id}/custom_attributes', 'custom_attributes'],
    ['listCustomProjectAttributes', 'GET', `${P}/custom_attributes`, 'custom_attributes'],
    ['listCustomUserAttributes', 'GET', 'users/{user_id}/custom_attributes', 'custom_attributes'],
    ['setCustomGroupAttribute', 'PUT', 'groups/{group_id}/custom_attributes/{key}', 'custom_attribute'],
    ['setCustomProjectAttribute', 'PUT', `${P}/custom_attributes/{key}`, 'custom_attribute'],
    ['setCustomUserAttribute', 'PUT', 'users/{user_id}/custom_attributes/{key}', 'custom_attribute'],
  ],
  deployments: [
    ['createProjectDeployment', 'POST', `${P}/deployments`, 'deployment'],
    ['approveOrRejectProjectDeployment', 'POST', `${P}/deployments/{deployment_id}/approval`, ''],
    ['deleteProjectDeployment', 'DELETE', `${P}/deployments/{deployment_id}`, ''],
    ['getProjectDeployment', 'GET', `${P}/deployments/{deployment_id}`, 'deployment'],
    ['listProjectDeployments', 'GET', `${P}/deployments`, 'deployments'],
    ['updateProjectDeployment', 'PUT', `${P}/deployments/{deployment_id}`, 'deployment'],
  ],
  environments: [['listEnvironments', 'GET', `${P}/environments`, 'environments']],
  graphql: [['graphql', 'POST', '../graphql', 'result', 'graphql']],
  groups: [
    ['createGroup', 'POST', 'groups', 'group'],
    ['deleteGroup', 'DELETE', 'groups/{group_id}', ''],
    ['getGroup', 'GET', 'groups/{group_id}', 'group'],
    ['listGroups', 'GET', 'groups', 'groups'],
    ['updateGroup', 'PUT', 'groups/{group_id}', 'group'],
  ],
  issues: [
    ['addSpentTime', 'POST', `${ISSUE}/add_spent_time`, 'time_stats'],
    ['createIssue', 'POST', `${P}/issues`, 'issue'],
    ['createTodo', 'POST', `${ISSUE}/todo`, 'todo'],
    ['deleteIssue', 'DELETE', ISSUE, ''],
    ['getIssue', 'GET', ISSUE, 'issue'],
    ['getIssueByID', 'GET', 'issues/{issue_iid}', 'issue'], // the vendor names the global id input issue_iid
    ['getParticipants', 'GET', `${ISSUE}/participants`, 'basic_users'],
    ['getTimeSpent', 'GET', `${ISSUE}/time_stats`, 'time_stats'],
    ['listGroupIssues', 'GET', 'groups/{group_id}/issues', 'issues'],
    ['listIssues', 'GET', 'issues', 'issues'],
    ['listMergeRequestsClosingIssue', 'GET', `${ISSUE}/closed_by`, 'merge_requests'],
    ['listMergeRequestsRelatedToIssue', 'GET', `${ISSUE}/related_merge_requests`, 'merge_requests'],
    ['listProjectIssues', 'GET', `${P}/issues`, 'issues'],
    ['moveIssue', 'POST', `${ISSUE}/move`, 'issue'],
    ['reorderIssue', 'PUT', `${ISSUE}/reorder`, 'issue'],
    ['resetSpentTime', 'POST', `${ISSUE}/reset_spent_time`, 'time_stats'],
    ['resetTimeEstimate', 'POST', `${ISSUE}/reset_time_estimate`, 'time_stats'],
    ['setTimeEstimate', 'POST', `${ISSUE}/time_estimate`, 'time_stats'],
    ['subscribeToIssue', 'POST', `${ISSUE}/subscribe`, 'issue'],
    ['unsubscribeFromIssue', 'POST', `${ISSUE}/unsubscribe`, 'issue'],
    ['updateIssue', 'PUT', ISSUE, 'issue'],
  ],
  jobs: [
    ['cancelJob', 'POST', `${P}/jobs/{job_id}/cancel`, 'job'],
    ['deleteArtifacts', 'DELETE', `${P}/jobs/{job_id}/artifacts`, ''],
    ['deleteProjectArtifacts', 'DELETE', `${P}/artifacts`, ''],
    ['eraseJob', 'POST', `${P}/jobs/{job_id}/erase`, 'job'],
    ['getJob', 'GET', `${P}/jobs/{job_id}`, 'job'],
    ['getJobTokensJob', 'GET', 'job', 'job'],
    ['keepArtifacts', 'POST', `${P}/jobs/{job_id}/artifacts/keep`, 'job'],
    ['listPipelineBridges', 'GET', `${P}/pipelines/{pipeline_id}/bridges`, 'bridges'],
    ['listPipelineJobs', 'GET', `${P}/pipelines/{pipeline_id}/jobs`, 'jobs'],
    ['listProjectJobs', 'GET', `${P}/jobs`, 'jobs'],
    ['playJob', 'POST', `${P}/jobs/{job_id}/play`, 'job'],
    ['retryJob', 'POST', `${P}/jobs/{job_id}/retry`, 'job'],
  ],
  labels: [
    ['createLabel', 'POST', `${P}/labels`, 'label'],
    ['deleteLabel', 'DELETE', `${P}/labels/{label_id}`, ''],
    ['getLabel', 'GET', `${P}/labels/{label_id}`, 'label'],
    ['listLabels', 'GET', `${P}/labels`, 'labels'],
    ['promoteLabel', 'PUT', `${P}/labels/{label_id}/promote`, ''],
    ['subscribeToLabel', 'POST', `${P}/labels/{label_id}/subscribe`, 'label'],
    ['unsubscribeFromLabel', 'POST', `${P}/labels/{label_id}/unsubscribe`, ''],
    ['updateLabel', 'PUT', `${P}/labels/{label_id}`, 'label'],
  ],
  members: [['listProjectMembers', 'GET', `${P}/members`, 'project_members']],
  mergerequests: [
    ['acceptMergeRequest', 'PUT', `${MR}/merge`, 'merge_request'],
    ['addSpentTime', 'POST', `${MR}/add_spent_time`, 'time_stats'],
    ['approveMergeRequest', 'POST', `${MR}/approve`, 'merge_request_approvals'],
    ['cancelMergeWhenPipelineSucceeds', 'POST', `${MR}/cancel_merge_when_pipeline_succeeds`, 'merge_request'],
    ['createMergeRequest', 'POST', `${P}/merge_requests`, 'merge_request'],
    ['createMergeRequestPipeline', 'POST', `${MR}/pipelines`, 'pipeline_info'],
    ['createTodo', 'POST', `${MR}/todo`, 'todo'],
    ['deleteMergeRequest', 'DELETE', MR, ''],
    ['getIssuesClosedOnMerge', 'GET', `${MR}/closes_issues`, 'issues'],
    ['getMergeRequest', 'GET', MR, 'merge_request'],
    ['getMergeRequestApprovals', 'GET', `${MR}/approvals`, 'merge_request_approvals'],
    ['getMergeRequestCommits', 'GET', `${MR}/commits`, 'commits'],
    ['getMergeRequestDiffVersions', 'GET', `${MR}/versions`, 'merge_request_diff_versions'],
    ['getMergeRequestParticipants', 'GET', `${MR}/participants`, 'basic_users'],
    ['getMergeRequestReviewers', 'GET', `${MR}/reviewers`, 'merge_request_reviewers'],
    ['getSingleMergeRequestDiffVersion', 'GET', `${MR}/versions/{version_id}`, 'merge_request_diff_version'],
    ['getTimeSpent', 'GET', `${MR}/time_stats`, 'time_stats'],
    ['listGroupMergeRequests', 'GET', 'groups/{group_id}/merge_requests', 'merge_requests'],
    ['listMergeRequestDiffs', 'GET', `${MR}/diffs`, 'merge_request_diffs'],
    ['listMergeRequestPipelines', 'GET', `${MR}/pipelines`, 'pipeline_infos'],
    ['listMergeRequests', 'GET', 'merge_requests', 'merge_requests'],
    ['listProjectMergeRequests', 'GET', `${P}/merge_requests`, 'merge_requests'],
    ['rebaseMergeRequest', 'PUT', `${MR}/rebase`, ''],
    ['resetSpentTime', 'POST', `${MR}/reset_spent_time`, 'time_stats'],
    ['resetTimeEstimate', 'POST', `${MR}/reset_time_estimate`, 'time_stats'],
    ['setTimeEstimate', 'POST', `${MR}/time_estimate`, 'time_stats'],
    ['subscribeToMergeRequest', 'POST', `${MR}/subscribe`, 'merge_request'],
    ['unapproveMergeRequest', 'POST', `${MR}/unapprove`, ''],
    ['unsubscribeFromMergeRequest', 'POST', `${MR}/unsubscribe`, 'merge_request'],
    ['updateMergeRequest', 'PUT', MR, 'merge_request'],
  ],
  notes: [
    ...noteRows('Issue', `${ISSUE}/notes`),
    ...noteRows('MergeRequest', `${MR}/notes`),
    ...noteRows('Snippet', `${P}/snippets/{snippet_id}/notes`),
    ...noteRows('Epic', 'groups/{group_id}/epics/{epic_id}/notes'),
    ['createDraftNote', 'POST', `${MR}/draft_notes`, 'draft_note'],
    ['deleteDraftNote', 'DELETE', `${MR}/draft_notes/{draft_note_id}`, ''],
    ['getDraftNote', 'GET', `${MR}/draft_notes/{draft_note_id}`, 'draft_note'],
    ['listDraftNotes', 'GET', `${MR}/draft_notes`, 'draft_notes'],
    ['publishAllDraftNotes', 'POST', `${MR}/draft_notes/bulk_publish`, ''],
    ['publishDraftNote', 'PUT', `${MR}/draft_notes/{draft_note_id}/publish`, ''],
    ['updateDraftNote', 'PUT', `${MR}/draft_notes/{draft_note_id}`, 'draft_note'],
  ],
  pipelines: [
    ['createPipeline', 'POST', `${P}/pipeline`, 'pipeline'],
    ['listProjectPipelines', 'GET', `${P}/pipelines`, 'pipelines'],
    ['retryPipelineBuild', 'POST', `${P}/pipelines/{pipeline_id}/retry`, 'pipeline'],
    ['cancelPipelineBuild', 'POST', `${P}/pipelines/{pipeline_id}/cancel`, 'pipeline'],
    ['deletePipeline', 'DELETE', `${P}/pipelines/{pipeline_id}`, ''],
    ['getLatestPipeline', 'GET', `${P}/pipelines/latest`, 'pipeline'],
    ['getPipeline', 'GET', `${P}/pipelines/{pipeline_id}`, 'pipeline'],
    ['getPipelineTestReport', 'GET', `${P}/pipelines/{pipeline_id}/test_report`, 'pipeline_test_report'],
    ['getPipelineVariables', 'GET', `${P}/pipelines/{pipeline_id}/variables`, 'pipeline_variables'],
    ['updatePipelineMetadata', 'PUT', `${P}/pipelines/{pipeline_id}/metadata`, 'pipeline'],
  ],
  projects: [
    ['createProject', 'POST', 'projects', 'project', 'projectOptions'],
    ['createProjectForUser', 'POST', 'projects/user/{user_id}', 'project', 'projectOptions'],
    ['editProject', 'PUT', P, 'project', 'projectOptions'],
    ['importMembers', 'POST', `${P}/import_project_members/{source_project_id}`, ''],
    ['listProjectInvitedGroups', 'GET', `${P}/invited_groups`, 'project_groups'],
    ['listShareableGroups', 'GET', `${P}/share_locations`, 'project_groups'],
    ['listTransferableGroups', 'GET', `${P}/transfer_locations`, 'project_groups'],
    ['restoreProject', 'POST', `${P}/restore`, 'project'],
    ['archiveProject', 'POST', `${P}/archive`, 'project'],
    ['deleteProject', 'DELETE', P, ''],
    ['deleteSharedProjectFromGroup', 'DELETE', `${P}/share/{group_id}`, ''],
    ['getProject', 'GET', P, 'project'],
    ['getProjectLanguages', 'GET', `${P}/languages`, 'project_languages'],
    ['listProjects', 'GET', 'projects', 'projects'],
    ['listProjectsGroups', 'GET', `${P}/groups`, 'project_groups'],
    ['listProjectsUsers', 'GET', `${P}/users`, 'project_users'],
    ['listUserContributedProjects', 'GET', 'users/{user_id}/contributed_projects', 'projects'],
    ['listUserProjects', 'GET', 'users/{user_id}/projects', 'projects'],
    ['shareProjectWithGroup', 'POST', `${P}/share`, ''],
    ['starProject', 'POST', `${P}/star`, 'project'],
    ['startHousekeepingProject', 'POST', `${P}/housekeeping`, ''],
    ['transferProject', 'PUT', `${P}/transfer`, 'project'],
    ['unarchiveProject', 'POST', `${P}/unarchive`, 'project'],
    ['unstarProject', 'POST', `${P}/unstar`, 'project'],
  ],
  protectedbranches: [
    ['getProtectedBranch', 'GET', `${P}/protected_branches/{name}`, 'protected_branch'],
    ['listProtectedBranches', 'GET', `${P}/protected_branches`, 'protected_branches'],
    ['protectRepositoryBranch', 'POST', `${P}/protected_branches`, 'protected_branch'],
    ['unprotectRepositoryBranch', 'DELETE', `${P}/protected_branches/{name}`, ''],
    ['updateProtectedBranch', 'PATCH', `${P}/protected_branches/{name}`, 'protected_branch'],
  ],
  repositories: [
    ['contributors', 'GET', `${REPO}/contributors`, 'contributors'],
    ['getBlob', 'GET', `${REPO}/blobs/{sha}`, 'blob'],
    ['getFileArchive', 'GET', `${REPO}/archive`, 'content', 'archive'],
    ['rawBlobContent', 'GET', `${REPO}/blobs/{sha}/raw`, 'content', 'rawBlob'],
    ['addChangelog', 'POST', `${REPO}/changelog`, ''],
    ['compare', 'GET', `${REPO}/compare`, 'compare'],
    ['generateChangelogData', 'GET', `${REPO}/changelog`, 'changelog_data'],
    ['listTree', 'GET', `${REPO}/tree`, 'tree_nodes'],
    ['mergeBase', 'GET', `${REPO}/merge_base`, 'commit'],
  ],
  repositoryfiles: [
    ['getRawFile', 'GET', `${REPO}/files/{file_path}/raw`, 'content', 'rawFile'],
    ['createFile', 'POST', `${REPO}/files/{file_path}`, 'file_info'],
    ['deleteFile', 'DELETE', `${REPO}/files/{file_path}`, ''],
    ['getFile', 'GET', `${REPO}/files/{file_path}`, 'file'],
    ['getFileBlame', 'GET', `${REPO}/files/{file_path}/blame`, 'file_blame_ranges'],
    ['getFileMetaData', 'HEAD', `${REPO}/files/{file_path}`, 'file', 'fileMeta'],
    ['updateFile', 'PUT', `${REPO}/files/{file_path}`, 'file_info'],
  ],
  tags: [
    ['createTag', 'POST', `${REPO}/tags`, 'tag'],
    ['deleteTag', 'DELETE', `${REPO}/tags/{tag_name}`, ''],
    ['getTag', 'GET', `${REPO}/tags/{tag_name}`, 'tag'],
    ['listTags', 'GET', `${REPO}/tags`, 'tags'],
  ],
  users: [
    ['createServiceAccountUser', 'POST', 'service_accounts', 'service_account', 'serviceAccount'],
    ['testConnection', 'GET', 'user', 'user'],
    ['activateUser', 'POST', 'users/{user_id}/activate', ''],
    ['addEmail', 'POST', 'user/emails', 'email'],
    ['addEmailForUser', 'POST', 'users/{user_id}/emails', 'email'],
    ['addGPGKey', 'POST', 'user/gpg_keys', 'gpg_key'],
    ['addGPGKeyForUser', 'POST', 'users/{user_id}/gpg_keys', 'gpg_key'],
    ['addSSHKey', 'POST', 'user/keys', 'ssh_key'],
    ['addSSHKeyForUser', 'POST', 'users/{user_id}/keys', 'ssh_key'],
    ['approveUser', 'POST', 'users/{user_id}/approve', ''],
    ['banUser', 'POST', 'users/{user_id}/ban', ''],
    ['blockUser', 'POST', 'users/{user_id}/block', ''],
    ['createUser', 'POST', 'users', 'user'],
    ['createUserRunner', 'POST', 'user/runners', 'user_runner'],
    ['currentUser', 'GET', 'user', 'user'],
    ['currentUserStatus', 'GET', 'user/status', 'user_status'],
    ['deactivateUser', 'POST', 'users/{user_id}/deactivate', ''],
    ['deleteEmail', 'DELETE', 'user/emails/{email_id}', ''],
    ['deleteEmailForUser', 'DELETE', 'users/{user_id}/emails/{email_id}', ''],
    ['deleteGPGKey', 'DELETE', 'user/gpg_keys/{key_id}', ''],
    ['deleteGPGKeyForUser', 'DELETE', 'users/{user_id}/gpg_keys/{key_id}', ''],
    ['deleteSSHKey', 'DELETE', 'user/keys/{key_id}', ''],
    ['deleteSSHKeyForUser', 'DELETE', 'users/{user_id}/keys/{key_id}', ''],
    ['deleteUser', 'DELETE', 'users/{user_id}', ''],
    ['disableTwoFactor', 'PATCH', 'users/{user_id}/disable_two_factor', ''],
    ['getAllImpersonationTokens', 'GET', 'users/{user_id}/impersonation_tokens', 'impersonation_tokens'],
    ['getEmail', 'GET', 'user/emails/{email_id}', 'email'],
    ['getGPGKey', 'GET', 'user/gpg_keys/{key_id}', 'gpg_key'],
    ['getGPGKeyForUser', 'GET', 'users/{user_id}/gpg_keys/{key_id}', 'gpg_key'],
    ['getImpersonationToken', 'GET', 'users/{user_id}/impersonation_tokens/{impersonation_token_id}', 'impersonation_token'],
    ['getSSHKey', 'GET', 'user/keys/{key_id}', 'ssh_key'],
    ['getSSHKeyForUser', 'GET', 'users/{user_id}/keys/{key_id}', 'ssh_key'],
    ['getUser', 'GET', 'users/{user_id}', 'user'],
    ['getUserActivities', 'GET', 'user/activities', 'user_activities'],
    ['getUserAssociationsCount', 'GET', 'users/{user_id}/associations_count', 'user_associations_count'],
    ['getUserMemberships', 'GET', 'users/{user_id}/memberships', 'user_memberships'],
    ['getUserStatus', 'GET', 'users/{user_id}/status', 'user_status'],
    ['listEmails', 'GET', 'user/emails', 'emails'],
    ['listEmailsForUser', 'GET', 'users/{user_id}/emails', 'emails'],
    ['listGPGKeys', 'GET', 'user/gpg_keys', 'gpg_keys'],
    ['listGPGKeysForUser', 'GET', 'users/{user_id}/gpg_keys', 'gpg_keys'],
    ['listSSHKeys', 'GET', 'user/keys', 'ssh_keys'],
    ['listSSHKeysForUser', 'GET', 'users/{user_id}/keys', 'ssh_keys'],
    ['listServiceAccounts', 'GET', 'service_accounts', 'service_accounts'],
    ['listUsers', 'GET', 'users', 'users'],
    ['modifyUser', 'PUT', 'users/{user_id}', 'user'],
    ['rejectUser', 'POST', 'users/{user_id}/reject', ''],
    ['revokeImpersonationToken', 'DELETE', 'users/{user_id}/impersonation_tokens/{impersonation_token_id}', ''],
    ['setUserStatus', 'PUT', 'user/status', 'user_status'],
    ['unbanUser', 'POST', 'users/{user_id}/unban', ''],
    ['unblockUser', 'POST', 'users/{user_id}/unblock', ''],
  ],
};

/** create/delete/get/list/update for one kind of note (issue, merge request, snippet, epic). */
function noteRows(kind: string, base: string): Row[] {
  return [
    [`create${kind}Note`, 'POST', base, 'note'],
    [`delete${kind}Note`, 'DELETE', `${base}/{note_id}`, ''],
    [`get${kind}Note`, 'GET', `${base}/{note_id}`, 'note'],
    [`list${kind}Notes`, 'GET', base, 'notes'],
    [`update${kind}Note`, 'PUT', `${base}/{note_id}`, 'note'],
  ];
}

export const GITLAB_BUNDLE_PREFIX = 'com.datadoghq.gitlab';

export function fqnOf(spec: Pick<GitlabActionSpec, 'family' | 'name'>): string {
  return `${GITLAB_BUNDLE_PREFIX}.${spec.family}.${spec.name}`;
}

/** The `{x}` placeholders of a path, in order. */
export function pathParams(path: string): string[] {
  return [...path.matchAll(/\{[a-z_]+\}/g)].map((m) => m[0].slice(1, -1));
}

export const GITLAB_ACTIONS: readonly GitlabActionSpec[] = Object.freeze(
  Object.entries(FAMILIES).flatMap(([family, rows]) =>
    rows.map(([name, method, path, output, special]) => Object.freeze({ family, name, method, path, output, special })),
  ),
);
