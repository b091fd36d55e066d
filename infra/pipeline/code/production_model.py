"""Finds and downloads the production model: the newest Approved package in a model package group.

Both prepare.py (to warm-start incremental training) and evaluate.py (to score the
production model on the same test data as the new one) need it. boto3 is imported
only when a lookup happens, so the rest of the scripts run and test without it.
"""

import os
import tarfile
from urllib.parse import urlparse

# The built-in XGBoost algorithm saves its booster under this name in model.tar.gz.
MODEL_FILE_NAME = "xgboost-model"


def find(model_package_group):
    """Returns (model package ARN, model.tar.gz S3 URI) of the newest Approved package, or None."""
    import boto3  # Only inside SageMaker jobs; see the module comment.

    sagemaker = boto3.client("sagemaker")
    listed = sagemaker.list_model_packages(
        ModelPackageGroupName=model_package_group,
        ModelApprovalStatus="Approved",
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=1,
    )
    summaries = listed.get("ModelPackageSummaryList", [])
    if not summaries:
        return None
    arn = summaries[0]["ModelPackageArn"]
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    containers = described.get("InferenceSpecification", {}).get("Containers", [])
    if not containers or not containers[0].get("ModelDataUrl"):
        raise SystemExit(f"model package {arn} has no ModelDataUrl; cannot use it as the production model")
    return arn, containers[0]["ModelDataUrl"]


def download_booster(model_data_url, work_dir):
    """Downloads model.tar.gz from S3, unpacks it into work_dir and returns the booster file's path."""
    import boto3  # Only inside SageMaker jobs; see the module comment.

    parsed = urlparse(model_data_url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise SystemExit(f"model data URL {model_data_url!r} is not an s3:// URI")
    os.makedirs(work_dir, exist_ok=True)
    archive = os.path.join(work_dir, "model.tar.gz")
    boto3.client("s3").download_file(parsed.netloc, parsed.path.lstrip("/"), archive)
    return unpack_booster(archive, work_dir)


def unpack_booster(archive, work_dir):
    """Extracts the booster file from a model.tar.gz and returns its path."""
    with tarfile.open(archive) as tar:
        member = next((m for m in tar.getmembers() if os.path.basename(m.name) == MODEL_FILE_NAME), None)
        if member is None or not member.isfile():
            raise SystemExit(f"{archive} holds no {MODEL_FILE_NAME} file")
        # Extract only that one regular file, under a fixed name, so a crafted
        # archive cannot write outside work_dir.
        source = tar.extractfile(member)
        path = os.path.join(work_dir, MODEL_FILE_NAME)
        with open(path, "wb") as target:
            target.write(source.read())
    return path
